package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/providers"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the crmsync binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crmsync-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crmsync")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runCLI runs the command in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "crmsync.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	url := pgtest.NewEmptyURL(t)
	cfg := writeConfig(t, "database_url: "+url+"\n")
	code, out, errOut := runCLI(t, "--config", cfg, "migrate")
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("first migrate: code %d, out %q, err %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--config", cfg, "migrate")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: code %d, out %q, err %q", code, out, errOut)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, table := range []string{"river_job", "crmsync_person", "crmsync_identity", "crmsync_link", "crmsync_change"} {
		var ok bool
		if err := pool.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing after migrate (%v)", table, err)
		}
	}
}

func TestTwoMigrateProcessesAtOnce(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	url := pgtest.NewEmptyURL(t)
	cfg := writeConfig(t, "database_url: "+url+"\n")
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exec.Command(bin, "--config", cfg, "migrate").CombinedOutput()
		}()
	}
	wg.Wait()
	applied := 0
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("migrate process %d: %v\n%s", i, errs[i], outs[i])
		}
		if strings.Contains(string(outs[i]), "applied River migrations") {
			applied++
		}
	}
	if applied != 1 {
		t.Fatalf("%d processes applied migrations, want exactly 1:\n%s\n%s", applied, outs[0], outs[1])
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "database_url: postgres://x/y\nconnections:\n  - name: a\n    provdier: skarbe\n")
	code, _, errOut := runCLI(t, "--config", cfg, "migrate")
	if code == 0 {
		t.Fatal("migrate with a misspelled key exited 0")
	}
	if !strings.Contains(errOut, ":4: connections[0].provdier: unknown key") {
		t.Fatalf("error does not name the key and line: %q", errOut)
	}
}

func TestHelpDescribesEveryCommand(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "help")
	if code != 0 {
		t.Fatalf("help exited %d", code)
	}
	for _, c := range allCommands() {
		if !strings.Contains(out, c.name) {
			t.Errorf("help does not mention %s", c.name)
		}
		code, _, errOut := runCLI(t, c.name, "--help")
		if code != 0 || !strings.Contains(errOut, c.usage) {
			t.Errorf("%s --help: code %d, output %q", c.name, code, errOut)
		}
	}
}

// TestWorkerRunsResyncAndStopsOnSIGTERM starts a real worker process over
// four simulators, enqueues a resync (a River job the worker works to
// completion), and stops the worker with SIGTERM.
func TestWorkerRunsResyncAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	url := pgtest.NewURL(t)
	var b strings.Builder
	fmt.Fprintf(&b, "database_url: %s\nconnections:\n", url)
	var sims []providers.Simulator
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		if _, err := simulate.SeedDataset(sim, kind, 40, 7); err != nil {
			t.Fatal(err)
		}
		sims = append(sims, sim)
		fmt.Fprintf(&b, "  - name: %s\n    provider: %s\n    base_url: %s\n    poll_interval: 1s\n    credentials:\n", kind, kind, sim.URL())
		for k, v := range sim.Credentials() {
			fmt.Fprintf(&b, "      %s: %q\n", k, v)
		}
	}
	cfg := writeConfig(t, b.String())

	worker := exec.Command(bin, "--config", cfg, "worker")
	var wout bytes.Buffer
	worker.Stdout, worker.Stderr = &wout, &wout
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- worker.Wait() }()
	t.Cleanup(func() { _ = worker.Process.Kill() })

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--config", cfg, "resync", "--wait").CombinedOutput()
	if err != nil {
		t.Fatalf("resync --wait: %v\n%s\nworker:\n%s", err, out, wout.String())
	}
	if !strings.Contains(string(out), "completed") {
		t.Fatalf("resync --wait did not report completion:\n%s", out)
	}
	var state string
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// The run is completed by the resync job's last step; River records the
	// job itself as completed once that step has returned, a moment later.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := pool.QueryRow(context.Background(), `SELECT state::text FROM river_job WHERE kind = 'crmsync.resync'`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "completed" || time.Now().After(deadline) {
			break
		}
	}
	if state != "completed" {
		t.Fatalf("resync job state = %s, want completed", state)
	}

	start := time.Now()
	if err := worker.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker exited with %v after SIGTERM:\n%s", err, wout.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("worker did not stop within 40 s of SIGTERM:\n%s", wout.String())
	}
	if !strings.Contains(wout.String(), "worker stopped") {
		t.Fatalf("worker did not log a clean stop:\n%s", wout.String())
	}
	t.Logf("worker stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}
