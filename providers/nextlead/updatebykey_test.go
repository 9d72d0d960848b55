package nextlead_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
)

// TestUpdateByKeyAfterListing updates listed contacts with an email: names,
// score and stage go in one edit-contact call under the email (stored in
// another case for one of them), with no lookup, and the answer is what
// NextLead then holds. An edit of the phone locates the contact first: the
// canonical phones do not say which of phone, mobile and phone_pro each is.
func TestUpdateByKeyAfterListing(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	ids, err := s.Seed([]mapping.Person{
		{FirstName: "Ann", LastName: "Lee", Emails: []string{"Ann.Lee@Example.com"}, Phones: []string{"+33612345678", "+33698765432"}},
		{FirstName: "Bob", Emails: []string{"bob@example.com"}, LeadStage: mapping.StageNew, LeadScore: intp(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	listed := changes(t, a)
	n := counter(s)
	for i, id := range ids {
		cur := listed[id]
		d := cur.Person.Clone()
		d.FirstName, d.LastName = d.FirstName+" Marie", "Lee-Smith"
		d.LeadStage, d.LeadScore = mapping.StageQualified, intp(50+i)
		up, err := a.Update(ctx, id, cur.Person, d)
		if err != nil {
			t.Fatal(err)
		}
		if f, e, l := n(reqFind), n(reqEdit), n(reqCreated); f != 0 || e != 1 || l != 0 {
			t.Errorf("contact %d: %d find-contact, %d edit-contact, %d user-created calls; want 0, 1, 0", i, f, e, l)
		}
		held := canonical(t, s, id)
		if !mapping.EqualPerson(nextleadmap.Holds, &held, &up.Person) || !mapping.EqualPerson(nextleadmap.Updates, &d, &held) {
			t.Errorf("contact %d: answered %+v\nholds %+v\nwanted %+v", i, up.Person, held, d)
		}
		c, _ := s.Contact(id)
		if up.ID != id || up.ChangedAt.IsZero() || nextleadmap.FormatTime(up.ChangedAt) != nextleadmap.FormatTime(mustParse(t, c.UpdatedAt)) {
			t.Errorf("contact %d: answered id %q changed at %v; stored updated_at %s", i, up.ID, up.ChangedAt, c.UpdatedAt)
		}
	}

	// A new primary phone: located first, and the mobile stays.
	cur := canonical(t, s, ids[0])
	d := cur.Clone()
	d.Phones = []string{"+33611111111", "+33698765432"}
	up, err := a.Update(ctx, ids[0], cur, d)
	if err != nil {
		t.Fatal(err)
	}
	if f, e := n(reqFind), n(reqEdit); f != 1 || e != 1 {
		t.Errorf("phone: %d find-contact, %d edit-contact calls; want 1, 1", f, e)
	}
	if c, _ := s.Contact(ids[0]); c.Phone != "+33611111111" || c.Mobile != "+33698765432" || !mapping.EqualPerson(nextleadmap.Holds, &up.Person, ptrTo(canonical(t, s, ids[0]))) {
		t.Errorf("phone: stored %+v, answered %+v", c, up.Person)
	}
}

// TestUpdateByKeyFallsBack checks the edits under a contact's last known
// email that do not reach it: its email changed (404), and its old email now
// belongs to another contact, which the edit reaches instead. Either way the
// contact is then located and edited, and nothing fails.
func TestUpdateByKeyFallsBack(t *testing.T) {
	s, a := setup(t, nextleadtest.Options{})
	ctx := context.Background()
	ids, err := s.Seed([]mapping.Person{{FirstName: "Ann", Emails: []string{"ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	x := changes(t, a)[ids[0]].Person
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.Emails = []string{"ann@example.org"} }); err != nil {
		t.Fatal(err)
	}
	n := counter(s)
	d := x.Clone()
	d.LastName = "Lee"
	up, err := a.Update(ctx, ids[0], x, d)
	if err != nil {
		t.Fatal(err)
	}
	// The refused edit, the lookups of locate, one listing, the edit.
	if e, l := n(reqEdit), n(reqCreated); e != 2 || l != 1 {
		t.Errorf("email changed: %d edit-contact, %d user-created calls; want 2, 1", e, l)
	}
	if c, _ := s.Contact(ids[0]); c.LastName != "Lee" || up.Person.PrimaryEmail() != "ann@example.org" {
		t.Fatalf("email changed: stored %+v, answered %+v", c, up.Person)
	}

	// Another contact takes the old email of a second one, and the engine
	// still holds the old view of it. (A second simulator: locate reads the
	// listing at most once in 30 s.)
	s, a = setup(t, nextleadtest.Options{})
	ids, err = s.Seed([]mapping.Person{{FirstName: "Ann", Emails: []string{"ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	x = changes(t, a)[ids[0]].Person
	if err := s.UserEdit(ids[0], func(p *mapping.Person) { p.Emails = []string{"ann@example.org"} }); err != nil {
		t.Fatal(err)
	}
	other, err := s.Seed([]mapping.Person{{FirstName: "Annie", Emails: []string{"ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	d = x.Clone()
	d.FirstName = "Anna"
	up, err = a.Update(ctx, ids[0], x, d)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Contact(ids[0]); c.FirstName != "Anna" || c.Email != "ann@example.org" || up.ID != ids[0] || up.Person.FirstName != "Anna" {
		t.Fatalf("old email taken: stored %+v, answered %+v", c, up)
	}
	// The contact under the old email shares it with the person, and got
	// the same values.
	if c, _ := s.Contact(other[0]); c.FirstName != "Anna" {
		t.Fatalf("contact under the old email: %+v", c)
	}
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := nextleadmap.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func ptrTo[T any](v T) *T { return &v }
