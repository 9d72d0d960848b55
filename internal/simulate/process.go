package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// ProcessOptions configure StartProcess.
type ProcessOptions struct {
	// Command is the command line that runs `crmsync simulate`, without the
	// provider and flags; nil means this executable with "simulate".
	Command []string
	// Kind, People, Seed and Latency are passed to the simulator.
	Kind    string
	People  int
	Seed    int64
	Latency time.Duration
	// Stderr receives the child's standard error (nil: discarded; its last
	// lines are in the error when the child fails to start).
	Stderr io.Writer
}

// Process is a simulator in a child process (`crmsync simulate KIND
// --admin-addr 127.0.0.1:0 --ready-json`), driven through its admin routes.
// The child dies with the context given to StartProcess, with Close, and on
// Linux with this process (a parent-death signal).
type Process struct {
	ready  Ready
	client *http.Client

	cmd     *exec.Cmd
	done    chan struct{} // closed once the child is reaped
	waitErr error
	stderr  *tailWriter
}

var _ Instance = (*Process)(nil)

// childMemoryLimit is the GOMEMLIMIT of a simulator process when the
// environment sets none.
const childMemoryLimit = "400MiB"

// StartProcess starts a simulator process and waits until it is seeded and
// serving.
func StartProcess(ctx context.Context, opts ProcessOptions) (*Process, error) {
	argv := opts.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("start %s simulator process: %w", opts.Kind, err)
		}
		argv = []string{exe, "simulate"}
	}
	args := append(argv[1:len(argv):len(argv)], opts.Kind, "--people", strconv.Itoa(opts.People),
		"--seed", strconv.FormatInt(opts.Seed, 10), "--latency", opts.Latency.String(),
		"--admin-addr", "127.0.0.1:0", "--ready-json")
	cmd := exec.CommandContext(ctx, argv[0], args...)
	if os.Getenv("GOMEMLIMIT") == "" {
		// A simulator holds a whole CRM in memory; without a limit the Go
		// runtime lets the heap reach twice its live data before
		// collecting, which at a million people is what pushes the
		// process past 512 MiB. Set GOMEMLIMIT to choose another.
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+childMemoryLimit)
	}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = time.Second
	stdout := &firstLine{ch: make(chan []byte, 1)}
	cmd.Stdout = stdout
	p := &Process{cmd: cmd, done: make(chan struct{}), stderr: &tailWriter{w: opts.Stderr, max: 4 << 10},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	cmd.Stderr = p.stderr
	started := make(chan error, 1)
	go func() {
		// A parent-death signal fires when the thread that started the
		// child ends: keep this goroutine on its thread until the child is
		// reaped.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s simulator process: %w", opts.Kind, err)
	}
	select {
	case line := <-stdout.ch:
		if err := json.Unmarshal(line, &p.ready); err != nil || p.ready.AdminURL == "" {
			_ = p.Close()
			return nil, fmt.Errorf("%s simulator process: unreadable ready line %q: %v", opts.Kind, line, err)
		}
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s simulator process exited before serving: %v\n%s", opts.Kind, p.waitErr, p.stderr.tail())
	case <-ctx.Done():
		_ = p.Close()
		return nil, fmt.Errorf("start %s simulator process: %w", opts.Kind, ctx.Err())
	}
}

// PID returns the child's process ID.
func (p *Process) PID() int { return p.ready.PID }

// Kind returns the simulator's kind.
func (p *Process) Kind() string { return p.ready.Kind }

// URL returns the simulator's base URL.
func (p *Process) URL() string { return p.ready.URL }

// Credentials returns the credentials the simulator accepts.
func (p *Process) Credentials() map[string]string { return p.ready.Credentials }

// Seeded returns how many records the child seeded.
func (p *Process) Seeded() int { return p.ready.Records }

// Records streams the child's records (RouteRecords); each range is one
// request.
func (p *Process) Records(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		resp, err := p.do(ctx, http.MethodGet, RouteRecords, nil)
		if err != nil {
			yield(providers.Record{}, err)
			return
		}
		defer resp.Body.Close()
		for r, err := range readRecords(resp.Body) {
			if err != nil {
				err = fmt.Errorf("%s simulator process: %w", p.Kind(), err)
			}
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// Requests returns the child's request counts (RouteRequests).
func (p *Process) Requests(ctx context.Context) (map[string]int64, error) {
	var m map[string]int64
	return m, p.call(ctx, http.MethodGet, RouteRequests, nil, &m)
}

// SetLatency sets the child's added latency (RouteLatency).
func (p *Process) SetLatency(ctx context.Context, d time.Duration) error {
	return p.call(ctx, http.MethodPost, RouteLatency, url.Values{"d": {d.String()}}, nil)
}

// MarkBaseline makes the child remember its records (RouteBaseline).
func (p *Process) MarkBaseline(ctx context.Context, holds mapping.FieldSet) (int, error) {
	var a baselineAnswer
	err := p.call(ctx, http.MethodPost, RouteBaseline, url.Values{"holds": {formatFields(holds)}}, &a)
	return a.Records, err
}

// Writes counts the child's records created or changed since MarkBaseline
// (RouteWrites).
func (p *Process) Writes(ctx context.Context) (Writes, error) {
	var w Writes
	return w, p.call(ctx, http.MethodGet, RouteWrites, nil, &w)
}

// PeakRSS returns the child's peak RSS (RouteRSS).
func (p *Process) PeakRSS(ctx context.Context) (int64, error) {
	var a rssAnswer
	return a.PeakRSSBytes, p.call(ctx, http.MethodGet, RouteRSS, nil, &a)
}

// Close kills the child and waits for it.
func (p *Process) Close() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s simulator process: %w", p.ready.Kind, err)
	}
	<-p.done
	p.client.CloseIdleConnections()
	return nil
}

// do sends an admin request and checks its status.
func (p *Process) do(ctx context.Context, method, route string, query url.Values) (*http.Response, error) {
	u := p.ready.AdminURL + route
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s simulator process: %w", p.ready.Kind, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.ready.AdminToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s simulator process: %s %s: %w", p.ready.Kind, method, route, err)
	}
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s simulator process: %s %s: %s: %s", p.ready.Kind, method, route, resp.Status, bytes.TrimSpace(body))
	}
	return resp, nil
}

// call sends an admin request and decodes its JSON answer into out (nil:
// none expected).
func (p *Process) call(ctx context.Context, method, route string, query url.Values, out any) error {
	resp, err := p.do(ctx, method, route, query)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s simulator process: %s %s: %w", p.ready.Kind, method, route, err)
	}
	return nil
}

// firstLine is a child's standard output: it hands over the first line and
// discards the rest.
type firstLine struct {
	ch   chan []byte
	buf  []byte
	sent bool
}

func (f *firstLine) Write(b []byte) (int, error) {
	if f.sent {
		return len(b), nil
	}
	f.buf = append(f.buf, b...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
		f.ch <- f.buf[:i]
		f.sent, f.buf = true, nil
	}
	return len(b), nil
}

// tailWriter passes a child's standard error on (to w, when set) and keeps
// its last max bytes for error messages.
type tailWriter struct {
	w   io.Writer
	max int

	mu  sync.Mutex
	buf []byte
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	t.mu.Unlock()
	if t.w != nil {
		_, _ = t.w.Write(b)
	}
	return len(b), nil
}

func (t *tailWriter) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
