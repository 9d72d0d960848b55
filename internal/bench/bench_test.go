package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// childArg, as the test binary's first argument, makes it `crmsync
// simulate` for the bench's simulator processes (SimCommand).
const childArg = "simulate-child"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := simulate.RunArgs(ctx, os.Stdout, os.Args[2:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

// TestBenchSmall runs the whole bench on 200 people against an embedded
// Postgres
// and checks the result and its JSON.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs an embedded Postgres")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	res, err := Run(ctx, Options{People: 200, Seed: 3, CallBurst: 200, SettleMax: time.Millisecond, Propagation: 10, EditRate: 10,
		PropagationWait: 20 * time.Second, Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if res.Duplicates != 0 {
		t.Errorf("duplicates = %d, want 0", res.Duplicates)
	}
	if !res.Converged {
		t.Errorf("not converged: missing %v", res.Missing)
	}
	if res.APICallsTotal == 0 || res.LowerBound == nil || res.LowerBound.APICalls == 0 || res.Ratio <= 0 {
		t.Errorf("no calls or no lower bound: %+v", res)
	}
	if res.LowerBound != nil && res.APICallsTotal < res.LowerBound.WriteCalls {
		t.Errorf("made %d calls, fewer than the %d writes the lower bound says are needed", res.APICallsTotal, res.LowerBound.WriteCalls)
	}
	if p := res.Propagation; p == nil || p.Edits == 0 || p.Lost != 0 {
		t.Errorf("propagation: %+v", p)
	}
	if res.PeakRSSBytes <= 0 || res.SimProcesses || res.PeakRSSByProcess["bench"] != res.PeakRSSBytes {
		t.Errorf("peak RSS %d, by process %v, simulator processes %v", res.PeakRSSBytes, res.PeakRSSByProcess, res.SimProcesses)
	}

	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	for _, k := range []string{"people", "records", "seconds", "people_per_second", "api_calls", "api_calls_per_person",
		"peak_rss_bytes", "peak_rss_by_process", "sim_processes", "converged", "duplicates", "lower_bound", "ratio", "propagation"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, buf.String())
		}
	}
	lb, _ := m["lower_bound"].(map[string]any)
	for _, k := range []string{"api_calls", "seconds", "copy_seconds", "list_calls_per_second", "write_calls_per_second"} {
		if _, ok := lb[k]; !ok {
			t.Errorf("lower_bound lacks %q", k)
		}
	}
	// The rates are the medians of rateRounds bursts each.
	if l := res.LowerBound; len(l.WriteRates) != rateRounds || len(l.ListRates) != rateRounds ||
		l.WriteRate != median(l.WriteRates) || l.ListRate != median(l.ListRates) {
		t.Errorf("lower bound rates %v (list %v) and %v (write %v): want the medians of %d bursts each",
			l.ListRate, l.ListRates, l.WriteRate, l.WriteRates, rateRounds)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ratio", "lower bound", "propagation", "API calls by CRM and kind", "simulators", "largest of: bench"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestBenchSplit runs the bench with the simulators in child processes (this
// test binary standing in for `crmsync simulate`) and in this process, on
// the same dataset: both converge without duplicates, and the lower bound's
// listing calls and creates, the records and the people they find are the
// same.
func TestBenchSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(mode SimMode) *Result {
		t.Helper()
		var progress bytes.Buffer
		res, err := Run(ctx, Options{People: 300, Seed: 5, CallBurst: 200, SettleMax: time.Millisecond, SimMode: mode, SimCommand: []string{os.Args[0], childArg},
			DatabaseURL: pgtest.NewURL(t), Progress: &progress})
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, progress.String())
		}
		if !res.Converged || res.Duplicates != 0 {
			t.Fatalf("mode %d: converged %v (missing %v), %d duplicates", mode, res.Converged, res.Missing, res.Duplicates)
		}
		return res
	}
	split := run(SimProcesses)
	if !split.SimProcesses || len(split.PeakRSSByProcess) != 5 {
		t.Fatalf("simulator processes %v; peak RSS by process %v, want bench and four simulators", split.SimProcesses, split.PeakRSSByProcess)
	}
	for name, n := range split.PeakRSSByProcess {
		if n <= 0 || n > split.PeakRSSBytes {
			t.Errorf("peak RSS of %s: %d (largest %d)", name, n, split.PeakRSSBytes)
		}
	}
	for _, kind := range simulate.Kinds() {
		if _, ok := split.PeakRSSByProcess["sim-"+kind]; !ok {
			t.Errorf("no peak RSS for the %s simulator process: %v", kind, split.PeakRSSByProcess)
		}
	}
	in := run(SimInProcess)
	if in.SimProcesses || len(in.PeakRSSByProcess) != 1 {
		t.Errorf("in-process run: simulator processes %v, peak RSS by process %v", in.SimProcesses, in.PeakRSSByProcess)
	}
	if split.Records != in.Records || split.RecordsAfter != in.RecordsAfter || split.DistinctPeople != in.DistinctPeople {
		t.Errorf("records %d → %d, %d people in child processes; %d → %d, %d people in-process",
			split.Records, split.RecordsAfter, split.DistinctPeople, in.Records, in.RecordsAfter, in.DistinctPeople)
	}
	// Updates are left out: which value wins a conflict depends on
	// observation times, so two in-process runs differ by a few too.
	sl, il := split.LowerBound, in.LowerBound
	if sl.ListCalls != il.ListCalls || sl.Creates != il.Creates {
		t.Errorf("lower bound calls: %d listing, %d creates in child processes; %d, %d in-process",
			sl.ListCalls, sl.Creates, il.ListCalls, il.Creates)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ route, want string }{
		{"GET /api/contacts", KindList},
		{"GET /api/contacts/{id}", KindGet},
		{"POST /api/contacts", KindCreate},
		{"PATCH /api/contacts/{id}", KindUpdate},
		{"PATCH /api/contacts/{id}/pipeline-state", KindPipeline},
		{"GET /api/pipeline_states", KindCatalog},
		{"POST /api/contacts/{id}/notes", KindNote},
		{"GET /api/connect/contacts", KindList},
		{"POST /api/connect/contacts", KindCreate},
		{"GET /api/connect/contacts/lead-statuses", KindCatalog},
		{"GET /api/connect/me", KindCatalog},
		{"POST /user/login/", KindAuth},
		{"POST /user/token/refresh/", KindAuth},
		{"GET /leads/list/", KindList},
		{"GET /leads/view/lead/", KindGet},
		{"POST /leads/create/lead/", KindCreate},
		{"POST /leads/update/lead/", KindUpdate},
		{"POST /leads/delete/lead/", KindDelete},
		{"POST /leads/create/leadnote/", KindNote},
		{"POST /api/v2/receive/contact/new-contact", KindCreate},
		{"POST /api/v2/receive/contact/edit-contact", KindUpdate},
		{"POST /api/v2/receive/contact/delete-contact", KindDelete},
		{"POST /api/v2/receive/contact/find-contact", KindFind},
		{"GET /api/v2/receive/contact/get-conversion", KindCatalog},
		{"POST /api/v2/receive/sales/create-sale", KindPipeline},
		{"PUT /api/v2/receive/sales/update-sale", KindPipeline},
		{"GET /api/v2/polling/contact/user-created", KindList},
		{"GET /api/v2/polling/contact/user-edited", KindList},
		{"GET /*", KindOther},
	} {
		if got := Classify(tc.route); got != tc.want {
			t.Errorf("Classify(%q) = %q, want %q", tc.route, got, tc.want)
		}
	}
}

func TestListCallsAndQuantile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind    string
		records int
		want    int64
	}{
		{"nextlead", 100000, 1}, {"skarbe", 5, 1}, {"ligo", 30, 1}, {"ligo", 31, 2}, {"ligo", 0, 1},
		{"epixel", 100, 2}, {"epixel", 101, 3},
	} {
		if got := listCalls(tc.kind, tc.records); got != tc.want {
			t.Errorf("listCalls(%s, %d) = %d, want %d", tc.kind, tc.records, got, tc.want)
		}
	}
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if q := quantile(xs, 0.5); q != 5 {
		t.Errorf("p50 = %v", q)
	}
	if q := quantile(xs, 0.95); q != 10 {
		t.Errorf("p95 = %v", q)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("empty p50 = %v", q)
	}
}

func TestArrivedReadsAFullNameField(t *testing.T) {
	split := providers.Capabilities{}
	joined := providers.Capabilities{JoinedName: true}
	tests := []struct {
		name   string
		caps   providers.Capabilities
		p      mapping.Person
		value  string
		arrive bool
	}{
		{"last name field", split, mapping.Person{FirstName: "Ada", LastName: "Prop1x2"}, "Prop1x2", true},
		{"last name field, not yet", split, mapping.Person{FirstName: "Ada", LastName: "Lovelace"}, "Prop1x2", false},
		{"last name field, value elsewhere", split, mapping.Person{FirstName: "Prop1x2"}, "Prop1x2", false},
		{"full name with a first name", joined, mapping.Person{FirstName: "Ada", LastName: "Prop1x2"}, "Prop1x2", true},
		// A person without a first name: the full name is the last name,
		// read back as a first name.
		{"full name without a first name", joined, mapping.Person{FirstName: "Prop1x2"}, "Prop1x2", true},
		{"full name, not yet", joined, mapping.Person{FirstName: "Ada", LastName: "Lovelace"}, "Prop1x2", false},
		{"full name, only a suffix of a word", joined, mapping.Person{FirstName: "Ada", LastName: "XProp1x2"}, "Prop1x2", false},
	}
	for _, tt := range tests {
		if got := arrived(tt.caps, lastNameAsHeld(tt.caps, &tt.p), tt.value); got != tt.arrive {
			t.Errorf("%s: arrived = %v, want %v", tt.name, got, tt.arrive)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{12000, 17000, 8000, 15000, 14000}, 14000},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tc.in)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("median reordered its input: %v", tc.in)
		}
	}
}

// settle waits, up to its limit, while the machine is busy, and says so.
func TestSettleWaitsWhileBusy(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	var out strings.Builder
	waited := settle(context.Background(), &out, 1200*time.Millisecond)
	close(stop)
	wg.Wait()
	if waited < 1200*time.Millisecond || !strings.Contains(out.String(), "waiting for the machine to go quiet") {
		t.Fatalf("settled after %v on a busy machine, saying %q", waited, out.String())
	}
}
