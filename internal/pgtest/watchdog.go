package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The watchdog is the test binary itself, started again by startWatchdog with
// watchdogEnv naming the container. Main sees the variable and, instead of
// running tests, waits for its stdin (a pipe from the test process) to close.
// When the test process ends in any way, a panic or SIGKILL included, the
// pipe closes; unless the test process wrote watchdogDone first (it
// terminated the container itself), the watchdog removes the container.
// It stands in for testcontainers' reaper where no reaper image exists.
const (
	watchdogEnv  = "CRMSYNC_PGTEST_WATCHDOG_CONTAINER"
	watchdogDone = "done\n"
)

// startWatchdog starts the watchdog for a container and returns the write end
// of its stdin.
func startWatchdog(containerID string) (io.WriteCloser, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("watchdog: find test binary: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), watchdogEnv+"="+containerID)
	// No stdout or stderr: go test waits until the test binary's output
	// pipes close, and the watchdog outlives the binary on purpose.
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = detachedProcAttr()
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("watchdog: stdin pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("watchdog: start: %w", err)
	}
	// Reap it when it exits while we still run; never wait for it otherwise.
	go func() { _ = cmd.Wait() }()
	return w, nil
}

// runWatchdog is the watchdog's main: it returns the process exit code.
func runWatchdog(containerID string) int {
	// Ctrl-C reaches the whole process group; outlive the test process.
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	msg, _ := io.ReadAll(os.Stdin)
	if strings.Contains(string(msg), strings.TrimSpace(watchdogDone)) {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return 1
	}
	defer cli.Close()
	_, err = cli.ContainerRemove(ctx, containerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errors.Is(err, context.Canceled) {
		return 1
	}
	return 0
}
