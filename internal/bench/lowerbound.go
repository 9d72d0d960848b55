package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/internal/dataset"
	"github.com/crmsync/crmsync/internal/procstat"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// LowerBound is the least a correct resync of the dataset costs on this
// machine: the fewest API calls it needs (every listing page, then one write
// per record missing or differing), at the rate the simulators answer
// calls, plus the time to COPY the canonical rows into Postgres.
type LowerBound struct {
	// ListCalls are the listing calls: one stream for NextLead and Skarbe,
	// ceil(records/page) pages for Epixel (100) and Ligo (30), plus
	// Epixel's login.
	ListCalls int64 `json:"list_calls"`
	// WriteCalls are one per record created or changed in a CRM between
	// the seeded state and the converged state.
	WriteCalls int64 `json:"write_calls"`
	// Creates and Updates split WriteCalls.
	Creates int64 `json:"creates"`
	Updates int64 `json:"updates"`
	// APICalls is ListCalls + WriteCalls.
	APICalls int64 `json:"api_calls"`
	// APICallsPerPerson is APICalls / people.
	APICallsPerPerson float64 `json:"api_calls_per_person"`
	// ListRate and WriteRate are the simulators' measured answers per
	// second (all four in parallel) for listing pages and creates: the
	// median of rateRounds bursts, whose rates are ListRates and
	// WriteRates (see callRates for the bursts' sizes).
	ListRate   float64   `json:"list_calls_per_second"`
	WriteRate  float64   `json:"write_calls_per_second"`
	ListRates  []float64 `json:"list_rates"`
	WriteRates []float64 `json:"write_rates"`
	// CopyRows and CopySeconds time a COPY of canonical rows shaped like
	// crmsync_person into a temporary table.
	CopyRows    int     `json:"copy_rows"`
	CopySeconds float64 `json:"copy_seconds"`
	// Seconds is ListCalls/ListRate + WriteCalls/WriteRate + CopySeconds.
	Seconds float64 `json:"seconds"`
	// SettleSeconds is how long the bench waited, before the bursts, for
	// the machine to go quiet (see settle).
	SettleSeconds float64 `json:"settle_seconds"`
}

// Settling: the machine counts as quiet once a settleWindow has been under
// settleBusy busy (a fifth of one core of two, at most), and the bench
// waits at most settleMax for that by default (Options.SettleMax).
const (
	settleWindow = 500 * time.Millisecond
	settleBusy   = 0.10
	settleMax    = 60 * time.Second
)

// settle waits until the machine is quiet, or longest has passed, and
// returns how long it waited. Where the machine's CPU time cannot be read,
// it does not wait.
func settle(ctx context.Context, out io.Writer, longest time.Duration) time.Duration {
	start := time.Now()
	said := false
	for time.Since(start) < longest {
		b1, t1, ok := procstat.CPUTimes()
		if !ok {
			break
		}
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-time.After(settleWindow):
		}
		b2, t2, ok := procstat.CPUTimes()
		if !ok || t2 <= t1 {
			break
		}
		busy := float64(b2-b1) / float64(t2-t1)
		if busy < settleBusy {
			break
		}
		if !said {
			fmt.Fprintf(out, "waiting for the machine to go quiet before measuring (%.0f%% busy)…\n", busy*100)
			said = true
		}
	}
	return time.Since(start)
}

// listPage is each CRM's listing page size per providers.md (0: one call
// lists everything).
var listPage = map[string]int{dataset.NextLead: 0, dataset.Skarbe: 0, dataset.Epixel: 100, dataset.Ligo: 30}

// listCalls returns the fewest listing calls that read records records of
// kind (Epixel's login included).
func listCalls(kind string, records int) int64 {
	size := listPage[kind]
	if size == 0 {
		return 1
	}
	n := int64((records + size - 1) / size)
	if n == 0 {
		n = 1
	}
	if kind == dataset.Epixel {
		n++ // POST /user/login/
	}
	return n
}

// rateRounds is how many bursts of each kind measure a call rate.
const rateRounds = 5

// listBurstShare is the listing bursts' size as a share of the create
// bursts': one-page listings are about a sixth as fast as creates and
// weigh about a twentieth of the bound, so their bursts are shorter.
const listBurstShare = 10

// callRates measures how fast the simulators answer on this machine:
// rateRounds times, a burst of calls listing one page, then a burst of
// creates, each spread over a throwaway simulator of every kind, all kinds
// at once, conc callers per kind. writes is the calls of one create burst
// (a listing burst makes a tenth as many). It returns every round's rates.
//
// A create burst lasts about a second at the default 10,000 calls. Bursts
// of 1,000 creates, the default before, lasted under a tenth of a second:
// their rate counted the callers' start and the opening of their
// connections, and single bursts differed by half on this VM.
func callRates(ctx context.Context, writes, conc int, latency time.Duration, seed int64) (listRates, writeRates []float64, err error) {
	kinds := len(simulate.Kinds())
	perWrite := max(writes/kinds, 1)
	perList := max(writes/listBurstShare/kinds, 1)
	for round := range rateRounds {
		r, err := burst(ctx, perList, conc, latency, seed+int64(round), false)
		if err != nil {
			return nil, nil, fmt.Errorf("measure listing rate: %w", err)
		}
		listRates = append(listRates, r)
		if r, err = burst(ctx, perWrite, conc, latency, seed+int64(round), true); err != nil {
			return nil, nil, fmt.Errorf("measure write rate: %w", err)
		}
		writeRates = append(writeRates, r)
	}
	return listRates, writeRates, nil
}

// median returns the middle value of xs (the mean of the two middle ones
// for an even count); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type rig struct {
	sim    providers.Simulator
	prov   providers.Provider
	people []mapping.Person
	next   atomic.Int64
}

// burst runs per operations (a one-page listing, or a create) against a
// fresh simulator of each kind and returns the HTTP calls answered per
// second across them.
func burst(ctx context.Context, per, conc int, latency time.Duration, seed int64, creates bool) (float64, error) {
	var rigs []*rig
	defer func() {
		for _, r := range rigs {
			r.sim.Close()
		}
	}()
	gen := dataset.New(seed + 7919)
	idx := 0
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			return 0, err
		}
		r := &rig{sim: sim}
		rigs = append(rigs, r)
		want := per + 1 // creates (one for the warm-up)
		if !creates {
			want = max(listPage[kind], 100) // one page
		}
		for len(r.people) < want {
			p := gen.At(idx)
			idx++
			if !dataset.CanHold(kind, p.Person) {
				continue
			}
			q := p.Person
			q.PipelineStage = "" // one HTTP call per create
			r.people = append(r.people, q)
		}
		if !creates {
			if _, err := sim.Seed(r.people); err != nil {
				return 0, fmt.Errorf("seed %s: %w", kind, err)
			}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		r.prov, err = simulate.NewProvider(kind, providers.Options{Name: kind, BaseURL: sim.URL(), Credentials: sim.Credentials(),
			HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}, Timeout: 30 * time.Second})
		if err != nil {
			return 0, err
		}
		// Warm up: log in, read catalogs, open connections.
		if err := r.op(ctx, creates); err != nil {
			return 0, fmt.Errorf("%s warm-up: %w", kind, err)
		}
		sim.SetLatency(latency)
	}
	before := make([]int64, len(rigs))
	for i, r := range rigs {
		before[i] = requestTotal(r.sim.Requests())
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(rigs)*conc)
	for _, r := range rigs {
		var left atomic.Int64
		left.Store(int64(per))
		for range conc {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					if err := r.op(ctx, creates); err != nil {
						errs <- fmt.Errorf("%s: %w", r.sim.Kind(), err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	var calls int64
	for i, r := range rigs {
		calls += requestTotal(r.sim.Requests()) - before[i]
	}
	return float64(calls) / took.Seconds(), nil
}

// op makes one listing (of one page) or one create.
func (r *rig) op(ctx context.Context, create bool) error {
	if create {
		i := r.next.Add(1) - 1
		_, err := r.prov.Create(ctx, r.people[int(i)%len(r.people)])
		return err
	}
	for _, err := range r.prov.List(ctx) {
		if err != nil {
			return err
		}
	}
	return nil
}

// personColumns are the crmsync_person columns the engine writes on insert.
var personColumns = []string{"id", "first_name", "last_name", "emails", "phones", "linkedin_url", "company", "job_title",
	"website", "address", "facebook", "instagram", "twitter", "notes", "lead_stage", "pipeline_stage", "lead_score",
	"owner", "prov_conn", "prov_at", "version"}

// copyTime COPYs the canonical truth of the dataset's n people, as rows
// shaped like crmsync_person, into a temporary table and returns the time
// the COPY took (row generation excluded).
func copyTime(ctx context.Context, pool *pgxpool.Pool, seed int64, n int) (time.Duration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE bench_person (LIKE crmsync_person INCLUDING DEFAULTS)`); err != nil {
		return 0, fmt.Errorf("copy: create temp table: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS bench_person`) }()
	const chunk = 20_000
	nf := len(mapping.AllFields)
	conns := make([]int16, nf)
	at := time.Now().UTC().Truncate(time.Microsecond)
	ats := make([]time.Time, nf)
	for i := range ats {
		ats[i] = at
	}
	var took time.Duration
	rows := make([][]any, 0, chunk)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		start := time.Now()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bench_person"}, personColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		took += time.Since(start)
		rows = rows[:0]
		return nil
	}
	for i, pl := range dataset.All(seed, n) {
		p := pl.Person
		emails, phones := p.Emails, p.Phones
		if emails == nil {
			emails = []string{}
		}
		if phones == nil {
			phones = []string{}
		}
		rows = append(rows, []any{int64(i + 1), null(p.FirstName), null(p.LastName), emails, phones, null(p.LinkedIn),
			null(p.Company), null(p.JobTitle), null(p.Website), null(p.Address), null(p.Facebook), null(p.Instagram),
			null(p.Twitter), null(p.Notes), null(string(p.LeadStage)), null(p.PipelineStage), p.LeadScore, null(p.Owner),
			conns, ats, int64(1)})
		if len(rows) == chunk {
			if err := flush(); err != nil {
				return took, err
			}
		}
	}
	return took, flush()
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}
