package nextleadmap

import (
	"encoding/json"
	"testing"

	"github.com/crmsync/crmsync/mapping"
)

// FuzzContact decodes arbitrary contact JSON and maps it: no panic, and the
// canonical person round-trips through ApplyPerson unchanged.
func FuzzContact(f *testing.F) {
	f.Add([]byte(`{"id":"c1","first_name":"John","email":"John@Example.com","email2":"x","phone":"0612345678","lead_score":"85","conversion_status":"won","linkedin":"linkedin.com/in/jd/"}`))
	f.Add([]byte(`{"lead_score":null,"listIds":["a"],"updated_at":"2024-01-01T12:00:00.000Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Contact
		if json.Unmarshal(b, &c) != nil {
			return
		}
		p, _, _ := ToPerson(&c, mapping.StageMap{}, "FR")
		var back Contact
		ApplyPerson(&back, mapping.Person{}, p, mapping.StageMap{}, []string{"New", "Contacted", "Qualified", "Won", "Lost", "Disqualified"})
		q, _, _ := ToPerson(&back, mapping.StageMap{}, "FR")
		if !mapping.Equal(mapping.FieldEmails, p.Get(mapping.FieldEmails), q.Get(mapping.FieldEmails)) ||
			!mapping.Equal(mapping.FieldLinkedIn, p.Get(mapping.FieldLinkedIn), q.Get(mapping.FieldLinkedIn)) {
			t.Fatalf("round trip changed identity: %+v -> %+v", p, q)
		}
	})
}
