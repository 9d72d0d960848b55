package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// superuser is the role initdb creates; authentication is trust, so the
	// URL holds no password.
	superuser = "crmsync"
	// instancePrefix names the per-server directories under the data root.
	instancePrefix = "crmsync-pg-"
	// readyTimeout bounds the wait for the first successful connection.
	readyTimeout = 30 * time.Second
	// shutdownTimeout bounds the fast shutdown before SIGKILL.
	shutdownTimeout = 10 * time.Second
	// staleAge protects directories of servers still being initialised by
	// another process from the stale-directory cleanup.
	staleAge = 2 * time.Minute
	// maxSocketPath is a safe length for a unix socket path (sun_path is 104
	// bytes on macOS, 108 on Linux).
	maxSocketPath = 100
)

// serverArgs are the settings of a throwaway server: durability off, enough
// connections for River and the bench, and shared buffers that hold a 100k
// resync's working set (with 128MB, its Postgres read 201,720 blocks back
// from the OS cache, and 49,773 with 256MB).
var serverArgs = []string{
	"-c", "listen_addresses=127.0.0.1",
	"-c", "fsync=off",
	"-c", "synchronous_commit=off",
	"-c", "full_page_writes=off",
	"-c", "max_connections=200",
	"-c", "shared_buffers=256MB",
}

// binServer is a postmaster started from local binaries.
type binServer struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the postmaster has exited
	waitErr error         // set before done is closed
	log     *tailBuffer
	instDir string
}

// startBinaries initialises a data directory under dataRoot, starts a
// postmaster on a free port and creates the crmsync database.
func startBinaries(ctx context.Context, binDir, dataRoot string, logger *slog.Logger) (*Server, error) {
	ru, err := serverUser()
	if err != nil {
		return nil, err
	}
	if dataRoot == "" {
		if dataRoot, err = dataRootDefault(ru != nil); err != nil {
			return nil, err
		}
	}
	// The postgres user must be able to traverse the root when we run as root.
	perm := os.FileMode(0o700)
	if ru != nil {
		perm = 0o755
	}
	if err := os.MkdirAll(dataRoot, perm); err != nil {
		return nil, fmt.Errorf("create data root: %w", err)
	}
	removeStale(dataRoot, logger)

	instDir, err := os.MkdirTemp(dataRoot, instancePrefix)
	if err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(instDir) }
	if err := ru.chown(instDir); err != nil {
		cleanup()
		return nil, err
	}
	dataDir := filepath.Join(instDir, "data")

	began := time.Now()
	if err := initDataDir(ctx, binDir, dataRoot, dataDir, ru, logger); err != nil {
		cleanup()
		if ru != nil {
			err = fmt.Errorf("%w (running as root, initdb runs as user %s, which must be able to reach the data root %s)", err, ru.name, dataRoot)
		}
		return nil, err
	}
	logger.Debug("data dir ready", "data_dir", dataDir, "elapsed", time.Since(began).Round(time.Millisecond))

	// Unix socket next to the data, unless the path would be too long for a
	// socket; then TCP only.
	sockDir := instDir
	if len(sockDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		sockDir = ""
	}

	var (
		b    *binServer
		port int
	)
	// A free port can be taken by someone else between our probe and the
	// postmaster's bind: retry a few times on "address in use".
	for attempt := 1; ; attempt++ {
		if port, err = freePort(); err != nil {
			cleanup()
			return nil, err
		}
		b, err = startPostmaster(binDir, dataDir, sockDir, port, ru, instDir)
		if err != nil {
			cleanup()
			return nil, err
		}
		err = waitReady(ctx, adminURL(port), b.done, b.log)
		if err == nil {
			break
		}
		b.kill()
		if attempt < 3 && strings.Contains(b.log.String(), "could not bind") {
			logger.Debug("port taken, retrying", "port", port)
			continue
		}
		cleanup()
		return nil, err
	}
	logger.Debug("postgres ready", "port", port, "elapsed", time.Since(began).Round(time.Millisecond))

	if err := createDatabase(ctx, adminURL(port)); err != nil {
		b.kill()
		cleanup()
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, b.log.lastLines(20))
	}

	return &Server{
		kind:    KindBinaries,
		url:     fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, port, DatabaseName),
		logger:  logger,
		dataDir: instDir,
		stopFn:  b.stop,
	}, nil
}

// startPostmaster starts postgres in the background. It is not tied to a
// context: it lives until Stop.
func startPostmaster(binDir, dataDir, sockDir string, port int, ru *runAs, instDir string) (*binServer, error) {
	args := append([]string{"-D", dataDir, "-p", strconv.Itoa(port), "-k", sockDir}, serverArgs...)
	cmd := exec.Command(filepath.Join(binDir, exeName("postgres")), args...)
	tail := newTailBuffer(64 << 10)
	cmd.Dir = instDir
	cmd.Env = childEnv()
	cmd.Stdout = tail
	cmd.Stderr = tail
	cmd.SysProcAttr = ru.sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	b := &binServer{cmd: cmd, done: make(chan struct{}), log: tail, instDir: instDir}
	go func() {
		b.waitErr = cmd.Wait()
		close(b.done)
	}()
	return b, nil
}

// stop shuts the postmaster down (SIGINT: fast shutdown; SIGKILL after
// shutdownTimeout or when ctx ends) and removes the instance directory.
func (b *binServer) stop(ctx context.Context) error {
	var errs []error
	select {
	case <-b.done:
	default:
		if err := interrupt(b.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("signal postgres: %w", err))
		}
		timer := time.NewTimer(shutdownTimeout)
		defer timer.Stop()
		select {
		case <-b.done:
		case <-timer.C:
			errs = append(errs, fmt.Errorf("postgres did not shut down within %s, killed it", shutdownTimeout))
			b.kill()
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("stop postgres: %w; killed it", ctx.Err()))
			b.kill()
		}
	}
	if err := os.RemoveAll(b.instDir); err != nil {
		errs = append(errs, fmt.Errorf("remove data dir: %w", err))
	}
	return errors.Join(errs...)
}

// kill sends SIGKILL and waits for the exit. Backends notice the postmaster's
// death and exit on their own.
func (b *binServer) kill() {
	_ = b.cmd.Process.Kill()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
	}
}

// waitReady polls until a pgx connection succeeds, the server exits, ctx ends
// or readyTimeout passes. The errors quote the tail of the server log.
func waitReady(ctx context.Context, url string, exited <-chan struct{}, log *tailBuffer) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during startup\nserver log:\n%s", log.lastLines(20))
		default:
		}
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, url)
		cancelAttempt()
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		lastErr = err
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during startup\nserver log:\n%s", log.lastLines(20))
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready within %s (last error: %v)\nserver log:\n%s",
				readyTimeout, lastErr, log.lastLines(20))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// createDatabase creates the crmsync database.
func createDatabase(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to create database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{DatabaseName}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", DatabaseName, err)
	}
	return nil
}

func adminURL(port int) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", superuser, port)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// childEnv is this process's environment without libpq's PG* variables
// (PGDATA, PGPORT, … must not redirect the server) and with the C locale.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// removeStale removes instance directories left by processes that died
// without Stop: those whose postmaster is no longer running and that are old
// enough not to be mid-initdb in another process.
func removeStale(root string, logger *slog.Logger) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	removeStaleTemplates(root, entries)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), instancePrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if pidBytes, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pidBytes), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err != nil || processAlive(pid) {
				continue
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			continue
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleAge {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			logger.Debug("removed stale embedded postgres dir", "dir", dir)
		}
	}
}

func lastLines(s string, n int) string {
	t := newTailBuffer(len(s) + 1)
	_, _ = t.Write([]byte(s))
	return t.lastLines(n)
}
