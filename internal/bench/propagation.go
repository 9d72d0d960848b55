package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/app"
	"github.com/crmsync/crmsync/internal/verify"
	"github.com/crmsync/crmsync/jobs"
	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

// Propagation is what the propagation measurement found: how long an edit
// made in one CRM's screens takes to show in every other CRM that holds the
// person and can take the change.
type Propagation struct {
	Edits       int     `json:"edits"`
	EditRate    float64 `json:"edits_per_second"`
	PollSeconds float64 `json:"poll_seconds"`
	// P50, P95 and Max are seconds from the edit to its arrival in the
	// last of its destination CRMs (observed by snapshots every 100 ms).
	P50 float64 `json:"p50_seconds"`
	P95 float64 `json:"p95_seconds"`
	Max float64 `json:"max_seconds"`
	// Lost counts edits that had not arrived everywhere when the wait
	// ended.
	Lost int `json:"lost"`
	// BySource counts edits per source CRM.
	BySource map[string]int `json:"by_source"`
	// Destinations is the total number of (edit, destination CRM) pairs
	// awaited.
	Destinations int `json:"destinations"`
}

// editTarget is one destination record an edit must reach.
type editTarget struct {
	crm int
	id  string
}

type edit struct {
	value   string
	at      time.Time
	pending []editTarget
	done    time.Time
}

// measurePropagation runs a worker with periodic polls, waits for the
// first poll of every connection, then makes opts.Propagation last-name
// edits at opts.EditRate in random CRMs and watches the simulators until
// each arrives in every other CRM holding that person (CRMs whose updates
// cannot set last_name, Skarbe, are not destinations).
func measurePropagation(ctx context.Context, opts *Options, a *app.App, pool *pgxpool.Pool, crms []verify.CRM) (*Propagation, error) {
	out := opts.Progress
	res := &Propagation{EditRate: opts.EditRate, PollSeconds: opts.Poll.Seconds(), BySource: map[string]int{}}
	groups := groupRecords(crms)

	t0 := time.Now()
	cl, err := jobs.NewClient(pool, &jobs.Deps{Engine: a.Engine, Logger: opts.Logger}, jobs.ClientOptions{WorkersPerQueue: opts.Workers})
	if err != nil {
		return nil, fmt.Errorf("propagation: %w", err)
	}
	if err := cl.Start(ctx); err != nil {
		return nil, fmt.Errorf("propagation: start worker: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cl.Stop(sctx); err != nil {
			_ = cl.StopAndCancel(context.Background())
		}
	}()
	fmt.Fprintf(out, "propagation: waiting for the first poll of every connection (%s interval)…\n", opts.Poll)
	if err := waitFirstPolls(ctx, pool, len(crms), t0, 10*time.Minute); err != nil {
		return nil, fmt.Errorf("propagation: %w", err)
	}
	// Let the first polls' pushes (if any) drain.
	time.Sleep(2 * opts.Poll)

	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x70726f70))
	updatable := make([]bool, len(crms))
	for i, c := range crms {
		updatable[i] = c.Caps.Updates.Has(mapping.FieldLastName)
	}
	// Candidates by source CRM: groups with exactly one record in each CRM
	// holding them, present in the source, with at least one destination.
	cands := make([][]int, len(crms))
	for gi, g := range groups {
		ok := true
		for _, ids := range g {
			if len(ids) > 1 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		for src := range crms {
			if len(g[src]) == 0 {
				continue
			}
			for d := range crms {
				if d != src && updatable[d] && len(g[d]) == 1 {
					cands[src] = append(cands[src], gi)
					break
				}
			}
		}
	}
	for i := range cands {
		rng.Shuffle(len(cands[i]), func(a, b int) { cands[i][a], cands[i][b] = cands[i][b], cands[i][a] })
	}

	var mu sync.Mutex
	var edits []*edit
	used := map[int]bool{}
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		watch(crms, &mu, &edits, stopWatch)
	}()

	fmt.Fprintf(out, "propagation: %d edits at %.1f/s…\n", opts.Propagation, opts.EditRate)
	interval := time.Duration(float64(time.Second) / opts.EditRate)
	next := time.Now()
	for k := 0; k < opts.Propagation; k++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				close(stopWatch)
				<-watchDone
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		next = next.Add(interval)
		src := rng.IntN(len(crms))
		var gi = -1
		for tries := 0; tries < len(crms) && gi < 0; tries++ {
			for len(cands[src]) > 0 {
				c := cands[src][len(cands[src])-1]
				cands[src] = cands[src][:len(cands[src])-1]
				if !used[c] {
					gi = c
					break
				}
			}
			if gi < 0 {
				src = (src + 1) % len(crms)
			}
		}
		if gi < 0 {
			break // no person left to edit
		}
		used[gi] = true
		g := groups[gi]
		value := fmt.Sprintf("Prop%dx%d", k, rng.IntN(1_000_000))
		e := &edit{value: value}
		for d := range crms {
			if d != src && updatable[d] && len(g[d]) == 1 {
				e.pending = append(e.pending, editTarget{crm: d, id: g[d][0]})
			}
		}
		mu.Lock()
		e.at = time.Now()
		edits = append(edits, e)
		mu.Unlock()
		if err := crms[src].Sim.UserEdit(g[src][0], func(p *mapping.Person) { p.LastName = value }); err != nil {
			close(stopWatch)
			<-watchDone
			return nil, fmt.Errorf("propagation: edit %s record %s: %w", crms[src].Name, g[src][0], err)
		}
		res.BySource[crms[src].Name]++
		res.Destinations += len(e.pending)
	}
	deadline := time.Now().Add(opts.PropagationWait)
	for time.Now().Before(deadline) {
		mu.Lock()
		left := 0
		for _, e := range edits {
			if len(e.pending) > 0 {
				left++
			}
		}
		mu.Unlock()
		if left == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stopWatch)
	<-watchDone

	var lat []float64
	for _, e := range edits {
		if len(e.pending) > 0 {
			res.Lost++
			continue
		}
		lat = append(lat, e.done.Sub(e.at).Seconds())
	}
	res.Edits = len(edits)
	slices.Sort(lat)
	res.P50, res.P95 = quantile(lat, 0.50), quantile(lat, 0.95)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	return res, nil
}

// watch snapshots the destination CRMs every 100 ms and marks arrivals
// until stop closes.
func watch(crms []verify.CRM, mu *sync.Mutex, edits *[]*edit, stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		mu.Lock()
		need := make([]bool, len(crms))
		for _, e := range *edits {
			for _, t := range e.pending {
				need[t.crm] = true
			}
		}
		mu.Unlock()
		last := make([]map[string]string, len(crms))
		for i, c := range crms {
			if !need[i] {
				continue
			}
			m := map[string]string{}
			for _, r := range c.Sim.Snapshot() {
				m[r.ID] = lastNameAsHeld(c.Caps, &r.Person)
			}
			last[i] = m
		}
		now := time.Now()
		mu.Lock()
		for _, e := range *edits {
			if len(e.pending) == 0 {
				continue
			}
			keep := e.pending[:0]
			for _, t := range e.pending {
				if last[t.crm] != nil && arrived(crms[t.crm].Caps, last[t.crm][t.id], e.value) {
					continue
				}
				keep = append(keep, t)
			}
			e.pending = keep
			if len(keep) == 0 {
				e.done = now
			}
		}
		mu.Unlock()
	}
}

// lastNameAsHeld is what a destination's record shows of the last name: the
// last name, or for a CRM with one full-name field (Caps.JoinedName) the
// whole name. Such a CRM cannot tell a lone last name from a first name (the
// name is split at its first space when read), so a person without a first
// name reads back with the edited last name as its first name.
func lastNameAsHeld(caps providers.Capabilities, p *mapping.Person) string {
	if caps.JoinedName {
		return mapping.JoinName(p.FirstName, p.LastName)
	}
	return p.LastName
}

// arrived reports whether held (see lastNameAsHeld) shows the edited last
// name value: equal to it, or for a full-name field ending with it.
func arrived(caps providers.Capabilities, held, value string) bool {
	if caps.JoinedName {
		return held == value || strings.HasSuffix(held, " "+value)
	}
	return held == value
}

// waitFirstPolls waits until n connections have polled successfully since
// t0.
func waitFirstPolls(ctx context.Context, pool *pgxpool.Pool, n int, t0 time.Time, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var k int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM crmsync_sync_state WHERE last_poll_ok_at >= $1`, t0).Scan(&k); err != nil {
			return fmt.Errorf("wait for first polls: %w", err)
		}
		if k >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for first polls: %d of %d done: %w", k, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// groupRecords groups the CRMs' records into people by shared identity
// (as verify does) and returns, per group, the record IDs per CRM index.
func groupRecords(crms []verify.CRM) [][][]string {
	parent := map[string]string{}
	find := func(x string) string {
		if _, ok := parent[x]; !ok {
			parent[x] = x
			return x
		}
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	type rec struct {
		crm int
		id  string
		key string
	}
	var recs []rec
	for i, c := range crms {
		for _, r := range c.Sim.Snapshot() {
			key := fmt.Sprintf("%d#%s", i, r.ID)
			find(key)
			for _, id := range engine.Identities(&r.Person) {
				union(key, id)
			}
			recs = append(recs, rec{crm: i, id: r.ID, key: key})
		}
	}
	idx := map[string]int{}
	var groups [][][]string
	for _, r := range recs {
		root := find(r.key)
		gi, ok := idx[root]
		if !ok {
			gi = len(groups)
			idx[root] = gi
			groups = append(groups, make([][]string, len(crms)))
		}
		groups[gi][r.crm] = append(groups[gi][r.crm], r.id)
	}
	return groups
}

// quantile returns the q-quantile of sorted xs (nearest rank), 0 when empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(q*float64(len(xs))+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
