package nextlead

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func errClass(t *testing.T, err error) (providers.Class, *providers.Error) {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe.Class, pe
}

// TestRefreshInterval checks the limits on locate's refreshes: within
// refreshInterval of the last one, a miss on an id a listing covered is
// ClassRetryable and waits for the next refresh, which answers every such
// id at once; an id learned after the last listing is refreshed at once.
func TestRefreshInterval(t *testing.T) {
	s, err := nextleadtest.New(nextleadtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	a, err := New(providers.Options{Name: "test", BaseURL: s.URL(), Credentials: s.Credentials(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a.dir.now = clock.now
	ctx := context.Background()
	reads := func() int64 { return s.Requests()["GET /api/v2/polling/contact/user-created"] }

	ids, err := s.Seed([]mapping.Person{
		{FirstName: "A", LinkedIn: "linkedin.com/in/A/"},
		{FirstName: "B", LinkedIn: "https://fr.linkedin.com/in/b?trk=abc"},
		{FirstName: "D", LinkedIn: "www.linkedin.com/in/d/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	people := map[string]mapping.Person{}
	if _, err := a.Changes(ctx, nil, func(c providers.Change) error {
		people[c.Record.ID] = c.Record.Person
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	update := func(id string) error {
		p := people[id]
		d := p.Clone()
		d.LastName = "Updated"
		_, err := a.Update(ctx, id, p, d)
		return err
	}
	if a.dir.size() != 3 {
		t.Fatalf("remembered %d contacts after the listing, want 3", a.dir.size())
	}

	// A is deleted: the first miss reads the listing.
	if err := s.UserDelete(ids[0]); err != nil {
		t.Fatal(err)
	}
	if c, _ := errClass(t, update(ids[0])); c != providers.ClassNotFound {
		t.Fatalf("deleted A: class %s", c)
	}
	if n := reads(); n != 2 {
		t.Fatalf("%d user-created reads, want 2 (Changes, one refresh)", n)
	}
	if _, ok := a.dir.linkedIn(ids[0]); ok {
		t.Error("deleted A still remembered")
	}

	// B moves to another profile URL (oddly spelt) and D is deleted: both misses come
	// within the interval, for contacts a listing covered.
	if err := s.UserEdit(ids[1], func(p *mapping.Person) { p.LinkedIn = "http://linkedin.com/in/b-2" }); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ids[2]); err != nil {
		t.Fatal(err)
	}
	clock.add(10 * time.Second)
	for _, id := range []string{ids[1], ids[2]} {
		c, pe := errClass(t, update(id))
		if c != providers.ClassRetryable || pe.RetryAfter != 20*time.Second {
			t.Fatalf("miss within the interval: %v", pe)
		}
	}
	if n := reads(); n != 2 {
		t.Fatalf("%d user-created reads within the interval, want 2", n)
	}

	// After the interval, one refresh answers both.
	clock.add(21 * time.Second)
	if err := update(ids[1]); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Contact(ids[1]); c.LastName != "Updated" {
		t.Fatalf("B stored %+v", c)
	}
	if c, _ := errClass(t, update(ids[2])); c != providers.ClassNotFound {
		t.Fatalf("deleted D: class %s", c)
	}
	if n := reads(); n != 3 {
		t.Fatalf("%d user-created reads, want 3", n)
	}

	// A contact created by the adapter after the last listing, then moved
	// to another, oddly spelt, profile URL: never covered by a listing, refreshed at once.
	rec, err := a.Create(ctx, mapping.Person{FirstName: "E", LinkedIn: "https://www.linkedin.com/in/e"})
	if err != nil {
		t.Fatal(err)
	}
	if li, ok := a.dir.linkedIn(rec.ID); !ok || li != "https://www.linkedin.com/in/e" {
		t.Fatalf("created contact remembered as %q, %v", li, ok)
	}
	if err := s.UserEdit(rec.ID, func(p *mapping.Person) { p.LinkedIn = "linkedin.com/in/E-2/" }); err != nil {
		t.Fatal(err)
	}
	people[rec.ID] = rec.Person
	if err := update(rec.ID); err != nil {
		t.Fatal(err)
	}
	if n := reads(); n != 4 {
		t.Fatalf("%d user-created reads, want 4", n)
	}
}

// TestDirectoryForgets checks that the memory holds only live contacts
// without an email: deletions seen in user-deleted and contacts that gained
// an email are dropped.
func TestDirectoryForgets(t *testing.T) {
	s, err := nextleadtest.New(nextleadtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	a, err := New(providers.Options{Name: "test", BaseURL: s.URL(), Credentials: s.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ids, err := s.Seed([]mapping.Person{
		{FirstName: "A", LinkedIn: "linkedin.com/in/a/"},
		{FirstName: "B", LinkedIn: "linkedin.com/in/b/"},
		{FirstName: "C", LinkedIn: "linkedin.com/in/c/", Emails: []string{"c@example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	poll := func(cp []byte) []byte {
		res, err := a.Changes(ctx, cp, func(providers.Change) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		return res.Checkpoint
	}
	cp := poll(nil)
	if a.dir.size() != 2 {
		t.Fatalf("remembered %d, want 2", a.dir.size())
	}
	if err := s.UserDelete(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.UserEdit(ids[1], func(p *mapping.Person) { p.Emails = []string{"b@example.com"} }); err != nil {
		t.Fatal(err)
	}
	poll(cp)
	if a.dir.size() != 0 {
		t.Fatalf("remembered %d, want 0", a.dir.size())
	}
}

// TestRefreshWaitersGiveUp checks that a caller giving up while waiting for
// a shared refresh returns at once without failing the others, and that a
// refresh nobody waits for any more is cancelled.
func TestRefreshWaitersGiveUp(t *testing.T) {
	release := make(chan struct{})
	aborted := make(chan struct{}, 4)
	var mu sync.Mutex
	reads := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, "/api/v2/") {
		case routeFind:
			fmt.Fprint(w, `{"status":200,"data":[{"found":false}]}`)
		case routeEdit:
			fmt.Fprint(w, `{"status":200,"data":{"contact":{"id":"c1","updatedAt":"2026-01-01T00:00:00.000Z"}}}`)
		case routeCreated:
			mu.Lock()
			reads++
			mu.Unlock()
			select {
			case <-release:
				fmt.Fprint(w, `{"status":200,"data":[{"id":"c1","first_name":"A","linkedin":"linkedin.com/in/A/"}]}`)
			case <-r.Context().Done():
				aborted <- struct{}{}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	a, err := New(providers.Options{Name: "test", BaseURL: srv.URL, Credentials: map[string]string{"api_key": "k"}})
	if err != nil {
		t.Fatal(err)
	}
	p := mapping.Person{FirstName: "A", LinkedIn: "https://www.linkedin.com/in/a"}
	d := p.Clone()
	d.LastName = "B"

	// Two waiters; the first gives up.
	c1, cancel1 := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { _, err := a.Update(c1, "c1", p, d); errs <- err }()
	go func() { _, err := a.Update(context.Background(), "c1", p, d); errs <- err }()
	for a.waiters() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel1()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(release)
	if err := <-errs; err != nil {
		t.Fatalf("remaining waiter: %v", err)
	}

	// A lone waiter gives up: the read is cancelled.
	a.dir.mu.Lock()
	a.dir.lastEnd, a.dir.keys, a.dir.listed = time.Time{}, map[string]storedKey{}, 0
	a.dir.mu.Unlock()
	release = make(chan struct{})
	c2, cancel2 := context.WithCancel(context.Background())
	go func() { _, err := a.Update(c2, "c1", p, d); errs <- err }()
	for {
		mu.Lock()
		n := reads
		mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel2()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled lone waiter: %v", err)
	}
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned read was not cancelled")
	}
	mu.Lock()
	defer mu.Unlock()
	if reads != 2 {
		t.Fatalf("%d reads, want 2", reads)
	}
}

// waiters returns how many callers wait for the refresh in flight.
func (a *Adapter) waiters() int {
	a.dir.mu.Lock()
	defer a.dir.mu.Unlock()
	if a.dir.scan == nil {
		return 0
	}
	return a.dir.scan.waiters
}
