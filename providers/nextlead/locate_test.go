package nextlead_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/nextlead"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
)

const (
	reqFind    = "POST /api/v2/receive/contact/find-contact"
	reqEdit    = "POST /api/v2/receive/contact/edit-contact"
	reqDelete  = "POST /api/v2/receive/contact/delete-contact"
	reqCreated = "GET /api/v2/polling/contact/user-created"
)

// oddSpellings are LinkedIn URLs as the dataset stores them
// (internal/dataset spellLinkedIn), none of them a spelling
// nextleadmap.LinkedInSpellings tries.
func oddSpellings(slug, title string) []string {
	return []string{
		"linkedin.com/in/" + title + "/",
		"https://fr.linkedin.com/in/" + slug + "?trk=abc",
		"http://linkedin.com/in/" + slug,
		"www.linkedin.com/in/" + slug + "/",
	}
}

// counter returns a function giving how many requests of key the simulator
// counted since the last call.
func counter(s *nextleadtest.Server) func(key string) int64 {
	last := s.Requests()
	return func(key string) int64 {
		now := s.Requests()[key]
		d := now - last[key]
		last[key] = now
		return d
	}
}

// fresh returns a new adapter on s, which has never listed anything.
func fresh(t *testing.T, s *nextleadtest.Server) *nextlead.Adapter {
	t.Helper()
	a, err := nextlead.New(providers.Options{Name: "cold", BaseURL: s.URL(), Credentials: s.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// canonical returns the engine's view of contact id.
func canonical(t *testing.T, s *nextleadtest.Server, id string) mapping.Person {
	t.Helper()
	for _, r := range s.Snapshot() {
		if r.ID == id {
			return r.Person
		}
	}
	t.Fatalf("no live contact %s", id)
	return mapping.Person{}
}

func changes(t *testing.T, a *nextlead.Adapter) map[string]providers.Record {
	t.Helper()
	ups := map[string]providers.Record{}
	_, err := a.Changes(context.Background(), nil, func(c providers.Change) error {
		if c.Kind == providers.ChangeUpsert {
			ups[c.Record.ID] = c.Record
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ups
}

// TestUpdateOddLinkedInAfterListing updates contacts without an email whose
// LinkedIn URL is stored under a spelling no lookup guesses, right after a
// Changes listing: the update is one edit-contact call under the remembered
// stored string, with no lookup and no listing; the delete locates the
// contact with exactly one find-contact call under that string.
func TestUpdateOddLinkedInAfterListing(t *testing.T) {
	for _, sp := range oddSpellings("elodie-martin-qozsu", "Elodie-Martin-Qozsu") {
		t.Run(sp, func(t *testing.T) {
			s, a := setup(t, nextleadtest.Options{})
			ctx := context.Background()
			ids, err := s.Seed([]mapping.Person{{FirstName: "Élodie", LastName: "Martin", LinkedIn: sp}})
			if err != nil {
				t.Fatal(err)
			}
			id := ids[0]
			rec := changes(t, a)[id]
			if rec.Person.LinkedIn != "https://www.linkedin.com/in/elodie-martin-qozsu" {
				t.Fatalf("canonical LinkedIn = %q", rec.Person.LinkedIn)
			}
			n := counter(s)
			d := rec.Person.Clone()
			d.FirstName = "Élodie-Anne"
			up, err := a.Update(ctx, id, rec.Person, d)
			if err != nil {
				t.Fatal(err)
			}
			if f, e, l := n(reqFind), n(reqEdit), n(reqCreated); f != 0 || e != 1 || l != 0 {
				t.Errorf("update: %d find-contact, %d edit-contact, %d user-created calls; want 0, 1, 0", f, e, l)
			}
			if c, _ := s.Contact(id); c.FirstName != "Élodie-Anne" || c.LinkedIn != sp || up.Person.FirstName != "Élodie-Anne" {
				t.Fatalf("stored %+v, returned %+v", c, up.Person)
			}
			// Pipeline stages need an email: a visible validation failure.
			if err := a.SetPipelineStage(ctx, id, d, "Won"); classOf(t, err) != providers.ClassValidation {
				t.Fatalf("pipeline stage: %v", err)
			}
			n(reqFind)
			if err := a.Delete(ctx, id, d); err != nil {
				t.Fatal(err)
			}
			if f, del, l := n(reqFind), n(reqDelete), n(reqCreated); f != 1 || del != 1 || l != 0 {
				t.Errorf("delete: %d find-contact, %d delete-contact, %d user-created calls; want 1, 1, 0", f, del, l)
			}
			if s.Len() != 0 {
				t.Fatal("not deleted")
			}
		})
	}
}

// TestUpdateOddLinkedInCold updates the same contacts with an adapter that
// never listed: the lookups miss, one read of user-created finds the
// contact by id, and the edit uses the stored string. The read also teaches
// the adapter the string: the next update is one edit-contact call under it.
func TestUpdateOddLinkedInCold(t *testing.T) {
	for _, sp := range oddSpellings("elodie-martin-qozsu", "Elodie-Martin-Qozsu") {
		t.Run(sp, func(t *testing.T) {
			s, _ := setup(t, nextleadtest.Options{})
			ctx := context.Background()
			ids, err := s.Seed([]mapping.Person{{FirstName: "Élodie", LastName: "Martin", LinkedIn: sp},
				{FirstName: "Other", LinkedIn: "https://www.linkedin.com/in/other"}})
			if err != nil {
				t.Fatal(err)
			}
			id := ids[0]
			a := fresh(t, s)
			p := canonical(t, s, id)
			n := counter(s)
			d := p.Clone()
			d.LastName = "Martin-Dupont"
			if _, err := a.Update(ctx, id, p, d); err != nil {
				t.Fatal(err)
			}
			if l, e := n(reqCreated), n(reqEdit); l != 1 || e != 1 {
				t.Errorf("cold update: %d user-created, %d edit-contact calls; want 1, 1", l, e)
			}
			t.Logf("cold update: %d find-contact calls", n(reqFind))
			if c, _ := s.Contact(id); c.LastName != "Martin-Dupont" {
				t.Fatalf("stored %+v", c)
			}
			d2 := d.Clone()
			d2.LastName = "Martin"
			if _, err := a.Update(ctx, id, d, d2); err != nil {
				t.Fatal(err)
			}
			if f, e, l := n(reqFind), n(reqEdit), n(reqCreated); f != 0 || e != 1 || l != 0 {
				t.Errorf("second update: %d find-contact, %d edit-contact, %d user-created calls; want 0, 1, 0", f, e, l)
			}
			// Delete, cold as well.
			b := fresh(t, s)
			if err := b.Delete(ctx, id, d2); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Contact(id); ok {
				t.Fatal("not deleted")
			}
		})
	}
}

// TestConcurrentColdUpdatesShareOneRefresh makes 20 concurrent updates of
// contacts without an email stored under odd spellings, with an adapter that
// never listed: they share one read of user-created.
func TestConcurrentColdUpdatesShareOneRefresh(t *testing.T) {
	s, _ := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	const n = 20
	people := make([]mapping.Person, 0, n+100)
	for i := range n {
		sp := oddSpellings(fmt.Sprintf("person-%d", i), fmt.Sprintf("Person-%d", i))[i%4]
		people = append(people, mapping.Person{FirstName: "P", LastName: fmt.Sprint(i), LinkedIn: sp})
	}
	for i := range 100 {
		people = append(people, mapping.Person{FirstName: "Q", Emails: []string{fmt.Sprintf("q%d@example.com", i)}})
	}
	ids, err := s.Seed(people)
	if err != nil {
		t.Fatal(err)
	}
	a := fresh(t, s)
	count := counter(s)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		p := canonical(t, s, ids[i])
		wg.Go(func() {
			d := p.Clone()
			d.LastName = fmt.Sprint("Updated ", i)
			_, errs[i] = a.Update(ctx, ids[i], p, d)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
		if c, _ := s.Contact(ids[i]); c.LastName != fmt.Sprint("Updated ", i) {
			t.Errorf("contact %d stored %+v", i, c)
		}
	}
	if l, e := count(reqCreated), count(reqEdit); l != 1 || e != n {
		t.Errorf("%d user-created reads, %d edits; want 1, %d", l, e, n)
	}
}

// TestLocateDeletedContact checks that a contact deleted in NextLead is
// ClassNotFound (absent from a fresh listing), warm or cold, and that a
// second miss reuses that listing's answer.
func TestLocateDeletedContact(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	sp := "https://fr.linkedin.com/in/gone?trk=abc"
	ids, err := s.Seed([]mapping.Person{{FirstName: "Gone", LinkedIn: sp}, {FirstName: "Cold", LinkedIn: "http://linkedin.com/in/cold"},
		{FirstName: "Mail", Emails: []string{"mail@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := changes(t, a)[ids[0]].Person
	if err := s.UserDelete(ids[0]); err != nil {
		t.Fatal(err)
	}
	n := counter(s)
	d := p.Clone()
	d.LastName = "X"
	if _, err := a.Update(ctx, ids[0], p, d); classOf(t, err) != providers.ClassNotFound {
		t.Fatalf("update of a deleted contact: %v", err)
	}
	if err := a.Delete(ctx, ids[0], p); classOf(t, err) != providers.ClassNotFound {
		t.Fatalf("delete of a deleted contact: %v", err)
	}
	// The update's edit under the remembered string is refused (404) before
	// the listing shows the contact gone.
	if l, e := n(reqCreated), n(reqEdit); l != 1 || e != 1 {
		t.Errorf("%d user-created reads, %d edits; want 1, 1", l, e)
	}

	// Cold, a contact without an email and one with an email.
	cold, mail := canonical(t, s, ids[1]), canonical(t, s, ids[2])
	if err := s.UserDelete(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ids[2]); err != nil {
		t.Fatal(err)
	}
	b := fresh(t, s)
	if _, err := b.Update(ctx, ids[1], cold, cold); classOf(t, err) != providers.ClassNotFound {
		t.Fatalf("cold update of a deleted contact: %v", err)
	}
	c := fresh(t, s)
	if err := c.Delete(ctx, ids[2], mail); classOf(t, err) != providers.ClassNotFound {
		t.Fatalf("cold delete of a deleted contact with an email: %v", err)
	}
}

// TestLocateUnaddressable checks that a live contact storing neither email
// nor LinkedIn URL is a permanent failure, not "not found".
func TestLocateUnaddressable(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	ids, err := s.Seed([]mapping.Person{{FirstName: "Nokey", LinkedIn: "www.linkedin.com/in/nokey/"}})
	if err != nil {
		t.Fatal(err)
	}
	p := changes(t, a)[ids[0]].Person
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.LinkedIn = "" }); err != nil {
		t.Fatal(err)
	}
	d := p.Clone()
	d.LastName = "X"
	_, err = a.Update(ctx, ids[0], p, d)
	if classOf(t, err) != providers.ClassPermanent {
		t.Fatalf("update of an unaddressable contact: %v", err)
	}
	t.Log(err)
	if err := a.Delete(ctx, ids[0], p); classOf(t, err) != providers.ClassPermanent {
		t.Fatalf("delete of an unaddressable contact: %v", err)
	}
}

// TestLocateAfterEmailChange checks that a contact whose email changed in
// NextLead after the engine read it is found by the refresh and edited
// under its current email.
func TestLocateAfterEmailChange(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	ids, err := s.Seed([]mapping.Person{{FirstName: "Ann", Emails: []string{"ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := changes(t, a)[ids[0]].Person
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.Emails = []string{"ann@example.org"} }); err != nil {
		t.Fatal(err)
	}
	d := p.Clone()
	d.LastName = "Lee"
	if _, err := a.Update(ctx, ids[0], p, d); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Contact(ids[0]); c.LastName != "Lee" || c.Email != "ann@example.org" {
		t.Fatalf("stored %+v", c)
	}
}

// TestFindOddLinkedInAfterListing looks up, by canonical URL, contacts
// without an email stored under a spelling no lookup guesses (a retried
// create searches this way before creating again): an adapter that has
// listed them finds each under its stored string; one that never listed
// cannot, which is the limit FindByLinkedIn documents.
func TestFindOddLinkedInAfterListing(t *testing.T) {
	for _, sp := range oddSpellings("elodie-martin-qozsu", "Elodie-Martin-Qozsu") {
		t.Run(sp, func(t *testing.T) {
			s, a := setup(t, nextleadtest.Options{})
			ctx := context.Background()
			ids, err := s.Seed([]mapping.Person{{FirstName: "Élodie", LastName: "Martin", LinkedIn: sp},
				{FirstName: "Other", LinkedIn: "https://www.linkedin.com/in/other"}})
			if err != nil {
				t.Fatal(err)
			}
			const url = "https://www.linkedin.com/in/elodie-martin-qozsu"
			if found, err := fresh(t, s).FindByLinkedIn(ctx, url); err != nil || len(found) != 0 {
				t.Fatalf("never-listed adapter found %v (%v); the common spellings cannot match %q", found, err, sp)
			}
			changes(t, a)
			found, err := a.FindByLinkedIn(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0].ID != ids[0] || found[0].Person.LinkedIn != url {
				t.Fatalf("found %+v, want contact %s", found, ids[0])
			}
		})
	}
}
