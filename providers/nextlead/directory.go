package nextlead

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers"
)

// refreshInterval is the least time between the end of one refresh of the
// contact listing made for locate and the start of the next, for the ids a
// listing has already covered. A refresh reads the whole user-created feed,
// so it costs what one poll of Changes costs; 30 s is the engine's default
// poll interval, so misses can at most double the listing traffic, while a
// contact that cannot be addressed waits at most about that long (answered
// ClassRetryable meanwhile, never ClassNotFound).
const refreshInterval = 30 * time.Second

// storedKey is a remembered LinkedIn string.
type storedKey struct {
	linkedIn string
	// canonical is linkedIn in mapping.NormalizeLinkedIn form ("" when it
	// does not normalize), for FindByLinkedIn.
	canonical string
	seq       uint64 // directory clock when learned or last confirmed
}

// directory remembers, for each live contact without an email, its LinkedIn
// URL exactly as NextLead stores it: edit-contact, delete-contact and
// find-contact compare that string exactly, and the engine only knows its
// canonical form. It learns from every listing of user-created (List,
// Changes, refreshes), every find-contact answer and every create, forgets
// deleted contacts, and runs the refreshes of locate (one at a time, at
// most one per refreshInterval for ids already covered by a listing).
//
// Its memory is bounded by the live contacts without an email.
type directory struct {
	now func() time.Time

	mu    sync.Mutex
	keys  map[string]storedKey
	clock uint64 // ticks on every learn and every listing start
	// listed is the clock at the end of the last complete listing (0
	// before any): an id learned before it was covered by that listing.
	listed uint64
	// scan is the refresh in flight, nil when none.
	scan *refresh
	// lastEnd is when the last successful refresh ended.
	lastEnd time.Time
	// absent holds the ids the last successful refresh looked for from its
	// start and did not find (deleted: NextLead never reuses an id).
	absent map[string]bool
	// keyless holds the ids the last successful refresh found live but
	// storing neither email nor LinkedIn URL.
	keyless map[string]bool
	// pending holds the ids refused a refresh by refreshInterval; the next
	// refresh looks for them too.
	pending map[string]struct{}
}

func newDirectory() *directory {
	return &directory{now: time.Now, keys: map[string]storedKey{}}
}

// refresh is one read of the user-created feed made for locate. Its fields
// are guarded by directory.mu until done is closed; after that they no
// longer change.
type refresh struct {
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
	// started is set once the request is sent: an id registered later may
	// already have been passed, so its absence proves nothing.
	started bool
	// want maps each id looked for to whether it is covered (registered
	// before the request was sent).
	want  map[string]bool
	found map[string]nextleadmap.Contact
	err   error
}

// hasEmail reports whether c stores an email, the key NextLead finds it by
// first.
func hasEmail(c *nextleadmap.Contact) bool { return strings.TrimSpace(c.Email) != "" }

// observe records what c stores. The caller holds d.mu.
func (d *directory) observe(c *nextleadmap.Contact) {
	if c.ID == "" {
		return
	}
	if hasEmail(c) || strings.TrimSpace(c.LinkedIn) == "" {
		delete(d.keys, c.ID)
		return
	}
	d.clock++
	if k, ok := d.keys[c.ID]; ok && k.linkedIn == c.LinkedIn {
		k.seq = d.clock
		d.keys[c.ID] = k
		return
	}
	canonical, _ := mapping.NormalizeLinkedIn(c.LinkedIn)
	d.keys[c.ID] = storedKey{linkedIn: c.LinkedIn, canonical: canonical, seq: d.clock}
}

// learn records what a find-contact or new-contact answer says c stores.
func (d *directory) learn(c *nextleadmap.Contact) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observe(c)
}

// forget drops a deleted contact.
func (d *directory) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.keys, id)
}

// linkedIn returns the remembered LinkedIn string of contact id.
func (d *directory) linkedIn(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.keys[id]
	return k.linkedIn, ok
}

// storedAs returns the distinct stored LinkedIn strings of the remembered
// contacts whose URL is canonical (mapping.NormalizeLinkedIn form), other
// than the spellings in skip. It scans the directory, which holds only the
// live contacts without an email; FindByLinkedIn calls it only after the
// common spellings missed.
func (d *directory) storedAs(canonical string, skip []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, k := range d.keys {
		if k.canonical == canonical && !slices.Contains(skip, k.linkedIn) && !slices.Contains(out, k.linkedIn) {
			out = append(out, k.linkedIn)
		}
	}
	return out
}

// beginListing marks the start of a listing of user-created and returns its
// start mark, for endListing.
func (d *directory) beginListing() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clock++
	return d.clock
}

// see records one item of a listing and, for a refresh, keeps it when it
// is looked for.
func (d *directory) see(c *nextleadmap.Contact, r *refresh) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observe(c)
	if r == nil {
		return
	}
	if _, ok := r.want[c.ID]; ok {
		r.found[c.ID] = *c
	}
}

// endListing closes a complete listing begun at start: the entries it did
// not confirm, and nothing learned since it began, are contacts deleted or
// holding an email now.
func (d *directory) endListing(start uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endListingLocked(start)
}

func (d *directory) endListingLocked(start uint64) {
	for id, k := range d.keys {
		if k.seq < start {
			delete(d.keys, id)
		}
	}
	d.listed = d.clock
}

// covered reports whether a complete listing has covered id: some listing
// has ended and id was not learned after it (an id the adapter does not
// remember was learned before it, or holds an email). The caller holds d.mu.
func (d *directory) covered(id string) bool {
	if d.listed == 0 {
		return false
	}
	k, ok := d.keys[id]
	return !ok || k.seq <= d.listed
}

// step is what locate does next after its lookups missed.
type step struct {
	find    string        // retry find-contact with this remembered string
	absent  bool          // a fresh listing lacks the contact
	keyless bool          // a fresh listing holds it without a key
	later   time.Duration // a refresh is refused for this long
	wait    *refresh      // wait for this refresh
	start   bool          // and run it first
}

// next decides the next step for contact id, whose lookups missed (tried is
// the remembered string already tried, "" when none).
func (d *directory) next(ctx context.Context, id, tried string) step {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k, ok := d.keys[id]; ok && k.linkedIn != tried {
		return step{find: k.linkedIn}
	}
	if d.absent[id] {
		return step{absent: true}
	}
	if d.keyless[id] {
		return step{keyless: true}
	}
	if r := d.scan; r != nil && r.ctx.Err() == nil {
		if _, ok := r.want[id]; !ok {
			r.want[id] = !r.started
		}
		r.waiters++
		return step{wait: r}
	}
	if !d.lastEnd.IsZero() && d.covered(id) {
		if left := refreshInterval - d.now().Sub(d.lastEnd); left > 0 {
			if d.pending == nil {
				d.pending = map[string]struct{}{}
			}
			d.pending[id] = struct{}{}
			return step{later: left}
		}
	}
	r := &refresh{done: make(chan struct{}), waiters: 1, want: map[string]bool{id: true},
		found: map[string]nextleadmap.Contact{}}
	// Detached from the caller: every waiter shares it, and the last one to
	// give up cancels it.
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for p := range d.pending {
		r.want[p] = true
	}
	d.pending = nil
	d.scan = r
	return step{wait: r, start: true}
}

// leave drops a waiter of r that gave up, cancelling r when none is left.
func (d *directory) leave(r *refresh) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.waiters--
	if r.waiters == 0 {
		r.cancel()
	}
}

// refresh reads the user-created feed once for r, as a stream, refreshing
// the whole directory on the way.
func (a *Adapter) refresh(r *refresh) {
	d := a.dir
	defer r.cancel()
	d.mu.Lock()
	d.clock++
	start := d.clock
	r.started = true
	d.mu.Unlock()

	var c nextleadmap.Contact
	n := 0
	began := d.now()
	err := a.stream(r.ctx, routeCreated, func(dec *json.Decoder) error {
		if err := decodeContact(dec, &c); err != nil {
			return err
		}
		if c.ID == "" {
			return nil
		}
		n++
		d.see(&c, r)
		return nil
	})

	d.mu.Lock()
	if err != nil {
		r.err = err
		// The ids refused earlier still wait for an answer.
		if d.pending == nil {
			d.pending = map[string]struct{}{}
		}
		for id := range r.want {
			d.pending[id] = struct{}{}
		}
	} else {
		d.endListingLocked(start)
		d.lastEnd = d.now()
		d.absent, d.keyless = map[string]bool{}, map[string]bool{}
		for id, covered := range r.want {
			c, ok := r.found[id]
			switch {
			case ok && !addressable(c):
				d.keyless[id] = true
			case covered && !ok:
				d.absent[id] = true
			}
		}
	}
	if d.scan == r {
		d.scan = nil
	}
	wanted, found, remembered, took := len(r.want), len(r.found), len(d.keys), d.now().Sub(began)
	d.mu.Unlock()
	close(r.done)
	a.log.DebugContext(r.ctx, "nextlead contact listing read again to locate contacts", "looked_for", wanted,
		"found", found, "contacts", n, "remembered", remembered, "took", took, "error", err)
}

// size returns how many contacts d remembers.
func (d *directory) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.keys)
}

// relocate finds live contact id after its lookups by email and LinkedIn URL
// missed (tried is the remembered LinkedIn string already tried, "" when
// none): it retries under a string learned meanwhile, else looks for id in
// a fresh read of the user-created feed. A contact absent from a fresh
// listing is ClassNotFound; a refresh refused by refreshInterval is
// ClassRetryable.
func (a *Adapter) relocate(ctx context.Context, id, tried string) (nextleadmap.Contact, error) {
	const op = "locate contact"
	for range 4 {
		st := a.dir.next(ctx, id, tried)
		switch {
		case st.find != "":
			tried = st.find
			c, ok, err := a.findID(ctx, id, nextleadmap.FindContact{LinkedInURL: st.find})
			if err != nil || ok {
				return c, err
			}
			continue
		case st.absent:
			return nextleadmap.Contact{}, errAbsent()
		case st.keyless:
			return nextleadmap.Contact{}, errKeyless(id)
		case st.later > 0:
			return nextleadmap.Contact{}, &providers.Error{Class: providers.ClassRetryable, Op: op, RetryAfter: st.later,
				Message: fmt.Sprintf("contact not found under its email or LinkedIn URL, and the contact listing was read less than %s ago; it will be read again after %s",
					refreshInterval, st.later.Round(time.Second))}
		}
		r := st.wait
		if st.start {
			go a.refresh(r)
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			a.dir.leave(r)
			return nextleadmap.Contact{}, &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
		}
		if r.err != nil {
			return nextleadmap.Contact{}, fmt.Errorf("refresh contact listing: %w", r.err)
		}
		if c, ok := r.found[id]; ok {
			if !addressable(c) {
				return nextleadmap.Contact{}, errKeyless(id)
			}
			return c, nil
		}
		if r.want[id] {
			return nextleadmap.Contact{}, errAbsent()
		}
		// Registered after the read began: it may have passed the contact.
		// The directory it refreshed may know it now; else the next step
		// decides.
	}
	return nextleadmap.Contact{}, &providers.Error{Class: providers.ClassRetryable, Op: op,
		Message: "contact not found under its keys and the contact listing changed meanwhile"}
}

// addressable reports whether c stores a key edit-contact and
// delete-contact can find it by.
func addressable(c nextleadmap.Contact) bool {
	mail, li := key(c)
	return mail != "" || strings.TrimSpace(li) != ""
}

// errKeyless is locate's answer for a live contact storing neither email
// nor LinkedIn URL: a visible failure, not a deletion.
func errKeyless(id string) error {
	return &providers.Error{Class: providers.ClassPermanent, Op: "locate contact",
		Message: fmt.Sprintf("contact %s is live in NextLead but stores neither an email nor a LinkedIn URL, the only keys its API edits or deletes by", id)}
}

// errAbsent is locate's answer for a contact absent from a fresh listing.
func errAbsent() error {
	return &providers.Error{Class: providers.ClassNotFound, Op: "GET /api/v2/" + routeCreated,
		Status: http.StatusNotFound, Message: "no live contact with this id in a fresh contact listing"}
}
