package epixelmap

import (
	"encoding/json"
	"testing"

	"github.com/crmsync/crmsync/mapping"
)

// FuzzLead decodes arbitrary lead JSON and maps it both ways: nothing
// panics, a written phone always matches the API's pattern, and mapping what
// FromPerson wrote back to canonical and out again is stable.
func FuzzLead(f *testing.F) {
	f.Add([]byte(`{"slug":"a-1","first_name":"Ada","last_name":"Lovelace","email":"Ada@Example.com","phone":"0612345678","location":"Paris","message":"hi","status":"tentative","source":"website","assignee":"alice","created_at":"2026-01-01T00:00:00.000Z"}`))
	f.Add([]byte(`{"first_name":" ","email":"bad","phone":"+1 (415) 555-0100","status":"weird","assignee":null}`))
	f.Add([]byte(`{"notes":[{"id":1,"note":"x"},{"id":"2"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var l Lead
		if json.Unmarshal(b, &l) != nil {
			return
		}
		p, _, _ := ToPerson(l, mapping.StageMap{}, "FR")
		form, err := FromPerson(p, mapping.StageMap{}, "FR")
		if err != nil {
			return
		}
		if !PhonePattern.MatchString(form.Phone) {
			t.Fatalf("phone %q does not match the API's pattern", form.Phone)
		}
		back := Lead{FirstName: form.FirstName, LastName: form.LastName, Email: form.Email, Phone: form.Phone,
			Location: form.Location, Message: form.Message, Status: form.Status, Assignee: form.Assignee}
		p2, _, _ := ToPerson(back, mapping.StageMap{}, "FR")
		form2, err := FromPerson(p2, mapping.StageMap{}, "FR")
		if err != nil {
			t.Fatalf("second FromPerson: %v", err)
		}
		if form2 != form {
			t.Fatalf("not stable:\n%+v\n%+v", form, form2)
		}
	})
}
