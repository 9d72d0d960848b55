package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// chromiumPath is Debian's chromium, installed by scripts/test-env.sh.
const chromiumPath = "/usr/bin/chromium"

var adminLine = regexp.MustCompile(`admin HTTP on http://(\S+?)/`)

// demo is a running `crmsync demo`.
type demo struct {
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	addr   string        // the admin HTTP address it printed
	ready  chan struct{} // closed on "still syncing" (the resync converged)
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's error, set before done is closed
}

// startDemo runs `crmsync demo --people N --http 127.0.0.1:PORT` on a fresh
// database and waits for the first resync to finish.
func startDemo(t *testing.T, bin, dbURL string, people int) *demo {
	t.Helper()
	port := freePort(t)
	d := &demo{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, ready: make(chan struct{}), done: make(chan struct{})}
	d.cmd = exec.Command(bin, "demo", "--people", strconv.Itoa(people), "--http", "127.0.0.1:"+strconv.Itoa(port),
		"--database-url", dbURL)
	d.cmd.Env = cleanEnv()
	d.cmd.Stderr = d.stderr
	pipe, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start demo: %v", err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		readyClosed := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = io.WriteString(d.stdout, line+"\n")
			if m := adminLine.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
			if !readyClosed && strings.HasPrefix(line, "still syncing") {
				close(d.ready)
				readyClosed = true
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	deadline := time.After(3 * time.Minute)
	for d.addr == "" || !isClosed(d.ready) {
		select {
		case a := <-addrc:
			d.addr = a
		case <-d.ready:
			if d.addr == "" {
				select {
				case a := <-addrc:
					d.addr = a
				case <-time.After(5 * time.Second):
					t.Fatalf("the demo converged without printing its admin address\nstdout:\n%s\nstderr:\n%s", d.stdout, d.stderr)
				}
			}
		case <-d.done:
			t.Fatalf("the demo exited early (%v)\nstdout:\n%s\nstderr:\n%s", d.err, d.stdout, d.stderr)
		case <-deadline:
			t.Fatalf("the demo did not converge within 3 minutes\nstdout:\n%s\nstderr:\n%s", d.stdout, d.stderr)
		}
	}
	return d
}

// stop interrupts the demo as Ctrl-C does and returns its exit code.
func (d *demo) stop(t *testing.T) int {
	t.Helper()
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt the demo: %v", err)
	}
	select {
	case <-d.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the demo did not exit within 90s of SIGINT\nstdout:\n%s\nstderr:\n%s", d.stdout, d.stderr)
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	if d.err != nil {
		t.Fatalf("the demo: %v", d.err)
	}
	return 0
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// connRow is one row of the sync-health page's connection table.
type connRow struct {
	Name   string `json:"name"`
	Linked string `json:"linked"`
}

const rowsJS = `Array.from(document.querySelectorAll('tr.conn')).map(r => ({
	name: r.dataset.name,
	linked: (r.querySelector('td.linked') || {}).textContent || ''
}))`

// TestBrowserHealthPage loads the sync-health page of a running demo in a
// headless Chromium, checks the four connections and their linked counts,
// and saves a screenshot.
func TestBrowserHealthPage(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: the browser test needs Debian's chromium; run scripts/test-env.sh (as root on Debian it installs it; CI runs it first)", chromiumPath)
	}
	dbURL := pgtest.NewURL(t) // skips with -short
	d := startDemo(t, binary(t), dbURL, 80)
	arts := artifactDir(t)
	defer func() {
		_ = os.WriteFile(filepath.Join(arts, "demo-stdout.log"), []byte(d.stdout.String()), 0o644)
		_ = os.WriteFile(filepath.Join(arts, "demo-stderr.log"), []byte(d.stderr.String()), 0o644)
	}()
	if !strings.Contains(d.stdout.String(), "converged in") {
		t.Errorf("the demo printed no convergence summary:\n%s", d.stdout)
	}

	chromeLog := &lockedBuffer{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
		chromedp.CombinedOutput(chromeLog),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser is gone before its
	// user-data directory is removed.
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser on the un-timed context (see chromedp.Run).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, chromeLog)
	}

	url := "http://" + d.addr + "/"
	var rows []connRow
	var shot []byte
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		// The page refreshes itself every 5 s; a reload racing the
		// evaluation is retried.
		lastErr = func() error {
			tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
			defer cancel()
			if err := chromedp.Do(tctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("table#connections tr.conn"))); err != nil {
				return err
			}
			var err error
			if rows, err = chromedp.Run(tctx, chromedp.Evaluate[[]connRow](rowsJS)); err != nil {
				return err
			}
			shot, err = chromedp.Run(tctx, chromedp.FullScreenshot(100))
			return err
		}()
		if lastErr == nil {
			break
		}
		t.Logf("attempt %d: %v", attempt+1, lastErr)
	}
	if lastErr != nil {
		t.Fatalf("load %s in chromium: %v\nchromium output:\n%s", url, lastErr, chromeLog)
	}
	shotPath := filepath.Join(arts, "sync-health.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s (%d bytes)", shotPath, len(shot))

	got := map[string]int{}
	for _, r := range rows {
		n, err := strconv.Atoi(strings.TrimSpace(r.Linked))
		if err != nil {
			t.Errorf("connection %s: linked count %q is not a number", r.Name, r.Linked)
			continue
		}
		got[r.Name] = n
	}
	for _, name := range []string{"nextlead", "skarbe", "epixel", "ligo"} {
		n, ok := got[name]
		switch {
		case !ok:
			t.Errorf("the page shows no row for connection %s (rows: %+v)", name, rows)
		case n <= 0:
			t.Errorf("connection %s shows %d linked records, want > 0", name, n)
		}
	}
	if len(rows) != 4 {
		t.Errorf("the page shows %d connection rows, want 4: %+v", len(rows), rows)
	}

	if code := d.stop(t); code != 0 {
		t.Errorf("the demo exited %d after SIGINT, want 0\nstderr:\n%s", code, d.stderr)
	}
}
