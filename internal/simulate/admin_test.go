package simulate

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/procstat"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// childArg, as the test binary's first argument, makes it a simulator
// process; parentArg a process that starts one, prints its pid and waits
// (see TestMain).
const (
	childArg  = "simulate-child"
	parentArg = "simulate-parent"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := RunArgs(ctx, os.Stdout, os.Args[2:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == parentArg {
		p, err := StartProcess(context.Background(), ProcessOptions{Command: []string{os.Args[0], childArg}, Kind: dataset.Ligo, People: 20})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(p.PID())
		select {}
	}
	os.Exit(m.Run())
}

// TestRecordsMatchSnapshot: every simulator streams exactly its Snapshot,
// in order, across chunks and deleted records.
func TestRecordsMatchSnapshot(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			sim, _ := newSeeded(t, kind, 3000, 5)
			snap := sim.Snapshot()
			if len(snap) < 600 {
				t.Fatalf("only %d records: not more than a chunk", len(snap))
			}
			for i := 0; i < len(snap); i += 7 {
				if err := sim.UserDelete(snap[i].ID); err != nil {
					t.Fatal(err)
				}
			}
			snap = sim.Snapshot()
			got := slices.Collect(Records(sim))
			if !reflect.DeepEqual(got, snap) {
				t.Fatalf("Records differs from Snapshot: %d vs %d records", len(got), len(snap))
			}
			for range Records(sim) {
				break // stopping early is fine
			}
		})
	}
}

// localProcess is a Process client talking to AdminHandler over l, without
// a child process.
func localProcess(t *testing.T, l *Local) *Process {
	t.Helper()
	srv := httptest.NewServer(AdminHandler(l, "tok"))
	t.Cleanup(srv.Close)
	return &Process{ready: Ready{Kind: l.Kind(), URL: l.URL(), Credentials: l.Credentials(), AdminURL: srv.URL, AdminToken: "tok"},
		client: srv.Client()}
}

// TestAdminRoutes drives a simulator through its admin routes and checks
// each answer against the simulator itself.
func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	sim, _ := newSeeded(t, dataset.Ligo, 400, 2)
	l := NewLocal(sim)
	p := localProcess(t, l)
	ctx := t.Context()

	// Records arrive as the simulator has them.
	var got []providers.Record
	for r, err := range p.Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := sim.Snapshot()
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%d records over the admin route, %d in the simulator", len(got), len(want))
	}
	holds := mapping.NewFieldSet(mapping.AllFields...)
	for i := range got {
		if got[i].ID != want[i].ID || mapping.Hash(&got[i].Person, holds) != mapping.Hash(&want[i].Person, holds) ||
			!got[i].ChangedAt.Equal(want[i].ChangedAt) {
			t.Fatalf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	// Baseline and writes: one edit, one create.
	if _, err := p.Writes(ctx); err == nil {
		t.Fatal("writes before a baseline: no error")
	}
	n, err := p.MarkBaseline(ctx, holds)
	if err != nil || n != len(want) {
		t.Fatalf("baseline: %d records, %v; want %d", n, err, len(want))
	}
	if err := sim.UserEdit(want[3].ID, func(q *mapping.Person) { q.LastName = "Changed" }); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Seed([]mapping.Person{{FirstName: "New", LastName: "Person", Emails: []string{"new.person@example.org"}}}); err != nil {
		t.Fatal(err)
	}
	if w, err := p.Writes(ctx); err != nil || w != (Writes{Creates: 1, Updates: 1}) {
		t.Fatalf("writes = %+v, %v; want one create, one update", w, err)
	}

	// Latency, request counts (admin calls are not counted), RSS.
	if err := p.SetLatency(ctx, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.Get(sim.URL() + "/api/contacts?page=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if time.Since(start) < 30*time.Millisecond {
		t.Error("latency not applied")
	}
	reqs, err := p.Requests(ctx)
	if err != nil || !reflect.DeepEqual(reqs, sim.Requests()) || requestTotal(reqs) != 1 {
		t.Fatalf("requests = %v, %v; simulator %v", reqs, err, sim.Requests())
	}
	if rss, err := p.PeakRSS(ctx); err != nil || rss <= 0 || rss > procstat.PeakRSS() {
		t.Fatalf("peak RSS = %d, %v", rss, err)
	}

	// A wrong token is refused; a bad parameter too.
	bad := *p
	bad.ready.AdminToken = "nope"
	if _, err := bad.Requests(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := p.MarkBaseline(ctx, 0); err != nil {
		t.Fatalf("empty holds: %v", err)
	}
	if err := p.call(ctx, http.MethodPost, RouteBaseline+"?holds=shoe_size", nil, nil); err == nil {
		t.Fatal("unknown field: no error")
	}
}

func requestTotal(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestReadRecordsCutShort: a stream without its end line is an error.
func TestReadRecordsCutShort(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	recs := []providers.Record{{ID: "a"}, {ID: "b"}}
	if err := writeRecords(&b, slices.Values(recs)); err != nil {
		t.Fatal(err)
	}
	full := b.String()
	lines := strings.SplitAfter(full, "\n")
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"whole", full, true},
		{"no end line", lines[0] + lines[1], false},
		{"wrong count", lines[0] + lines[2], false},
		{"empty", "", false},
	} {
		var n int
		var last error
		for _, err := range readRecords(strings.NewReader(tc.text)) {
			if err != nil {
				last = err
				break
			}
			n++
		}
		if (last == nil) != tc.ok {
			t.Errorf("%s: %d records, err %v", tc.name, n, last)
		}
	}
}

// TestStartProcess runs a simulator as a child process (this test binary
// standing in for crmsync) and checks that it serves, answers its admin
// routes and dies with its context.
func TestStartProcess(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr strings.Builder
	p, err := StartProcess(ctx, ProcessOptions{Command: []string{os.Args[0], childArg}, Kind: dataset.Skarbe, People: 300, Seed: 4,
		Stderr: &stderr})
	if err != nil {
		t.Fatalf("StartProcess: %v\n%s", err, stderr.String())
	}
	defer p.Close()
	if p.PID() == os.Getpid() || p.Seeded() != dataset.Facts(4, 300).Records[dataset.Skarbe] {
		t.Fatalf("pid %d, seeded %d", p.PID(), p.Seeded())
	}
	prov, err := NewProvider(dataset.Skarbe, providers.Options{BaseURL: p.URL(), Credentials: p.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, err := range prov.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		listed++
	}
	streamed := 0
	for _, err := range p.Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		streamed++
	}
	if listed != p.Seeded() || streamed != listed {
		t.Fatalf("listed %d, streamed %d, seeded %d", listed, streamed, p.Seeded())
	}
	reqs, err := p.Requests(ctx)
	if err != nil || requestTotal(reqs) == 0 {
		t.Fatalf("requests %v, %v", reqs, err)
	}
	if rss, err := p.PeakRSS(ctx); err != nil || rss <= 0 {
		t.Fatalf("peak RSS %d, %v", rss, err)
	}

	// The child dies with the context.
	cancel()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the child outlived its context")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestChildDiesWithParent: a simulator process dies when the process that
// started it is killed (Linux: the parent-death signal).
func TestChildDiesWithParent(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	parent := exec.Command(os.Args[0], parentArg)
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = parent.Process.Kill()
		_ = parent.Wait()
		t.Fatalf("no pid from the parent: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("child %d not running: %v", pid, err)
	}
	_ = parent.Process.Kill()
	_ = parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d outlived its parent", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
