package engine

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/mapping"
)

// hasIdentity agrees with Identities on valid, invalid and missing emails
// and LinkedIn URLs.
func TestPropHasIdentityFollowsIdentities(t *testing.T) {
	t.Parallel()
	email := rapid.SampledFrom([]string{"", "ada@example.com", "Ada@Example.com", "not an email", "@x.fr", "a@b"})
	li := rapid.SampledFrom([]string{"", "https://www.linkedin.com/in/ada", "linkedin.com/in/ada/", "https://www.linkedin.com/company/x", "nope"})
	rapid.Check(t, func(t *rapid.T) {
		p := mapping.Person{Emails: rapid.SliceOfN(email, 0, 3).Draw(t, "emails"), LinkedIn: li.Draw(t, "linkedin")}
		if got, want := hasIdentity(&p), len(Identities(&p)) > 0; got != want {
			t.Fatalf("hasIdentity(%+v) = %v, Identities %q", p, got, Identities(&p))
		}
	})
}
