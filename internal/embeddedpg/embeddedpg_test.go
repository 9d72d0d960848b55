package embeddedpg

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	if _, err := Find(); err != nil {
		t.Skipf("no PostgreSQL binaries here: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	began := time.Now()
	srv, err := Start(ctx, Options{Logger: testLogger(t), NoDocker: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("started in %s", time.Since(began).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = srv.Stop(context.Background())
		}
	})

	if got := srv.Kind(); got != KindBinaries {
		t.Errorf("Kind() = %q, want %q", got, KindBinaries)
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatalf("parse URL %q: %v", srv.URL(), err)
	}
	if u.Scheme != "postgres" || u.Path != "/"+DatabaseName || u.Hostname() != "127.0.0.1" {
		t.Errorf("URL() = %q, want postgres://…@127.0.0.1:PORT/%s", srv.URL(), DatabaseName)
	}
	dataDir := srv.DataDir()
	if _, err := os.Stat(filepath.Join(dataDir, "data", "PG_VERSION")); err != nil {
		t.Errorf("data dir %s: %v", dataDir, err)
	}

	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != DatabaseName {
		t.Errorf("current_database() = %q, %v", db, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (1, 'ünïcode')"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM t WHERE id = 1").Scan(&name); err != nil || name != "ünïcode" {
		t.Errorf("select name = %q, %v", name, err)
	}
	var maxConns int
	if err := conn.QueryRow(ctx, "SELECT current_setting('max_connections')::int").Scan(&maxConns); err != nil || maxConns != 200 {
		t.Errorf("max_connections = %d, %v", maxConns, err)
	}
	// An open connection must not block Stop (fast shutdown).

	began = time.Now()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	t.Logf("stopped in %s", time.Since(began).Round(time.Millisecond))
	if err := srv.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir %s still there after Stop (stat err %v)", dataDir, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err == nil {
		c.Close()
		t.Errorf("port %s still open after Stop", u.Host)
	}
	_ = conn.Close(ctx)
}

func TestFindSearchOrder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix layout")
	}
	root := t.TempDir()
	mk := func(dir string, names ...string) string {
		d := filepath.Join(root, dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(d, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	deb := filepath.Join(root, "usr/lib/postgresql/*/bin")
	brew := filepath.Join(root, "opt/homebrew/opt/postgresql@*/bin")
	mk("usr/lib/postgresql/9.6/bin", "initdb", "postgres")
	v15 := mk("usr/lib/postgresql/15/bin", "initdb", "postgres")
	mk("usr/lib/postgresql/17/bin", "psql") // client only: skipped
	brew16 := mk("opt/homebrew/opt/postgresql@16/bin", "initdb", "postgres")
	onPath := mk("path/bin", "initdb", "postgres")
	partial := mk("partial/bin", "initdb") // no postgres next to it
	link := mk("links/bin")
	if err := os.Symlink(filepath.Join(v15, "initdb"), filepath.Join(link, "initdb")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		globs   []string
		want    string
		wantErr bool
	}{
		{"PATH first", onPath, []string{deb}, onPath, false},
		{"PATH without postgres skipped", partial, []string{deb}, v15, false},
		{"symlink on PATH resolved", link, nil, v15, false},
		{"highest Debian version with server", "", []string{deb}, v15, false},
		{"glob order", "", []string{brew, deb}, brew16, false},
		{"nothing", "", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := find(tt.path, tt.globs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("find err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("find = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSortByVersionDesc(t *testing.T) {
	dirs := []string{
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/10/bin",
		"/opt/homebrew/opt/postgresql@14/bin",
		"/usr/lib/postgresql/16.2/bin",
	}
	sortByVersionDesc(dirs)
	want := []string{
		"/usr/lib/postgresql/16.2/bin",
		"/usr/lib/postgresql/16/bin",
		"/opt/homebrew/opt/postgresql@14/bin",
		"/usr/lib/postgresql/10/bin",
		"/usr/lib/postgresql/9.6/bin",
	}
	if strings.Join(dirs, " ") != strings.Join(want, " ") {
		t.Errorf("sorted = %v, want %v", dirs, want)
	}
}

func TestInstallHint(t *testing.T) {
	h := installHint(true)
	if !strings.Contains(h, "start Docker") {
		t.Errorf("hint with docker allowed lacks Docker advice: %s", h)
	}
	if strings.Contains(installHint(false), "start Docker") {
		t.Errorf("hint without docker mentions starting Docker")
	}
	switch {
	case runtime.GOOS == "darwin":
		if !strings.Contains(h, "brew install postgresql@16") {
			t.Errorf("macOS hint: %s", h)
		}
	case runtime.GOOS == "linux" && fileExists("/etc/debian_version"):
		if !strings.Contains(h, "apt-get install postgresql") {
			t.Errorf("Debian hint: %s", h)
		}
	}
}

func TestRemoveStale(t *testing.T) {
	root := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mkInst := func(name, pid string, mtime time.Time) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		if pid != "" {
			if err := os.WriteFile(filepath.Join(d, "data", "postmaster.pid"), []byte(pid+"\n/x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(d, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return d
	}
	dead := mkInst(instancePrefix+"dead", "999999999", old)
	noPid := mkInst(instancePrefix+"nopid", "", old)
	alive := mkInst(instancePrefix+"alive", strconv.Itoa(os.Getpid()), old)
	fresh := mkInst(instancePrefix+"fresh", "", time.Now())
	other := mkInst("something-else", "", old)

	removeStale(root, slog.New(slog.DiscardHandler))

	for _, d := range []string{dead, noPid} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed", filepath.Base(d))
		}
	}
	for _, d := range []string{alive, fresh, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(d), err)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(10)
	_, _ = b.Write([]byte("0123456789abc"))
	if got := b.String(); got != "3456789abc" {
		t.Errorf("String() = %q", got)
	}
	b = newTailBuffer(100)
	_, _ = b.Write([]byte("a\nb\nc\nd\n"))
	if got := b.lastLines(2); got != "c\nd" {
		t.Errorf("lastLines(2) = %q", got)
	}
}

func TestWaitReadyReportsExitWithLog(t *testing.T) {
	exited := make(chan struct{})
	close(exited)
	log := newTailBuffer(1 << 10)
	_, _ = log.Write([]byte("FATAL:  could not create lock file\n"))
	err := waitReady(context.Background(), "postgres://x@127.0.0.1:1/postgres?connect_timeout=1", exited, log)
	if err == nil || !strings.Contains(err.Error(), "could not create lock file") {
		t.Errorf("waitReady err = %v, want the server log tail", err)
	}
}

// TestConcurrentStartsFreshRoot starts two servers at once under an empty data
// root: both race to build the initdb template, and both must work.
func TestConcurrentStartsFreshRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL servers")
	}
	if _, err := Find(); err != nil {
		t.Skipf("no PostgreSQL binaries here: %v", err)
	}
	// Not t.TempDir(): when root, the postgres user must traverse the root.
	root, err := os.MkdirTemp(os.TempDir(), "embeddedpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	type result struct {
		srv *Server
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			srv, err := Start(ctx, Options{DataRoot: root, NoDocker: true})
			results <- result{srv, err}
		}()
	}
	var servers []*Server
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Errorf("Start: %v", r.err)
			continue
		}
		servers = append(servers, r.srv)
	}
	for _, srv := range servers {
		conn, err := pgx.Connect(ctx, srv.URL())
		if err != nil {
			t.Errorf("connect: %v", err)
		} else {
			var one int
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Errorf("SELECT 1: %v", err)
			}
			_ = conn.Close(ctx)
		}
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	if len(servers) == 2 && servers[0].URL() == servers[1].URL() {
		t.Errorf("both servers got the same URL %s", servers[0].URL())
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || !strings.HasPrefix(names[0], templatePrefix) {
		t.Errorf("data root after Stop holds %v, want only the initdb template", names)
	}
}

// TestServerDiesWithParent kills a process that started a server without
// stopping it: the server must go away (Pdeathsig) and the next Start must
// not be disturbed.
func TestServerDiesWithParent(t *testing.T) {
	if os.Getenv("EMBEDDEDPG_HELPER") == "1" {
		srv, err := Start(context.Background(), Options{NoDocker: true})
		if err != nil {
			os.Stdout.WriteString("ERR " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(srv.URL() + " " + srv.DataDir() + "\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signal is Linux only")
	}
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	if _, err := Find(); err != nil {
		t.Skipf("no PostgreSQL binaries here: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithParent$")
	cmd.Env = append(os.Environ(), "EMBEDDEDPG_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "ERR") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper: %q, %v", line, err)
	}
	fields := strings.Fields(line)
	u, err := url.Parse(fields[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(fields[1]) })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("server at %s still up 15s after its parent was killed", u.Host)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
