package engine

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers"
)

func TestSeenCacheFingerprint(t *testing.T) {
	score := 7
	base := providers.Record{ID: "1", ChangedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Person: mapping.Person{
		FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@example.com", "a@example.org"},
		Phones: []string{"+33612345678"}, LinkedIn: "https://www.linkedin.com/in/ada", LeadScore: &score, LeadStage: "new",
	}}
	s := newSeenCache()
	same := base
	same.Person.Emails = []string{"ada@example.com", "a@example.org"}
	if s.fingerprint(&base) != s.fingerprint(&same) {
		t.Fatal("equal records fingerprint differently")
	}
	other := 8
	changes := map[string]func(r *providers.Record){
		"first name":    func(r *providers.Record) { r.Person.FirstName = "Ad" },
		"name moved":    func(r *providers.Record) { r.Person.FirstName, r.Person.LastName = "AdaL", "ovelace" },
		"email order":   func(r *providers.Record) { r.Person.Emails = []string{"a@example.org", "ada@example.com"} },
		"email dropped": func(r *providers.Record) { r.Person.Emails = r.Person.Emails[:1] },
		"email to phone": func(r *providers.Record) {
			r.Person.Emails, r.Person.Phones = r.Person.Emails[:1], []string{"a@example.org", "+33612345678"}
		},
		"phone spelling":  func(r *providers.Record) { r.Person.Phones = []string{"06 12 34 56 78"} },
		"score":           func(r *providers.Record) { r.Person.LeadScore = &other },
		"score cleared":   func(r *providers.Record) { r.Person.LeadScore = nil },
		"stage":           func(r *providers.Record) { r.Person.LeadStage = "won" },
		"notes":           func(r *providers.Record) { r.Person.Notes = "x" },
		"owner":           func(r *providers.Record) { r.Person.Owner = "x" },
		"change time":     func(r *providers.Record) { r.ChangedAt = r.ChangedAt.Add(time.Microsecond) },
		"no change time":  func(r *providers.Record) { r.ChangedAt = time.Time{} },
		"pipeline stage":  func(r *providers.Record) { r.Person.PipelineStage = "Won" },
		"linkedin":        func(r *providers.Record) { r.Person.LinkedIn = "" },
		"company + title": func(r *providers.Record) { r.Person.Company, r.Person.JobTitle = "a", "b" },
	}
	for name, change := range changes {
		r := base
		r.Person.Emails = append([]string(nil), base.Person.Emails...)
		change(&r)
		if s.fingerprint(&base) == s.fingerprint(&r) {
			t.Errorf("%s: fingerprint unchanged", name)
		}
	}
	s.remember(1, []string{"1"}, []uint64{s.fingerprint(&base)})
	if !s.unchanged(1, &same, s.fingerprint(&same)) {
		t.Error("remembered record not seen as unchanged")
	}
	s.forget(1, []string{"1"})
	if s.unchanged(1, &same, s.fingerprint(&same)) {
		t.Error("forgotten record seen as unchanged")
	}
}
