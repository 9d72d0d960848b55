package mapping

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeLinkedIn(t *testing.T) {
	t.Parallel()
	const jd = "https://www.linkedin.com/in/jean-dupont"
	tests := []struct{ in, want string }{
		{"https://www.linkedin.com/in/jean-dupont", jd},
		{"http://www.linkedin.com/in/jean-dupont", jd},
		{"HTTPS://WWW.LINKEDIN.COM/IN/JEAN-DUPONT", jd},
		{"https://linkedin.com/in/jean-dupont", jd},
		{"linkedin.com/in/jean-dupont", jd},
		{"www.linkedin.com/in/jean-dupont/", jd},
		{"//www.linkedin.com/in/jean-dupont", jd},
		{"  https://www.linkedin.com/in/jean-dupont/  ", jd},
		{"https://fr.linkedin.com/in/jean-dupont", jd},
		{"https://uk.linkedin.com/in/jean-dupont/", jd},
		{"https://mobile.linkedin.com/in/jean-dupont", jd},
		{"https://m.linkedin.com/in/jean-dupont", jd},
		{"https://www.linkedin.com/mwlite/in/jean-dupont", jd},
		{"https://www.linkedin.com:443/in/jean-dupont", jd},
		{"https://www.linkedin.com/in/jean-dupont?trk=public_profile", jd},
		{"https://www.linkedin.com/in/jean-dupont/?originalSubdomain=fr&trk=x", jd},
		{"https://www.linkedin.com/in/jean-dupont#experience", jd},
		{"https://www.linkedin.com/in/Jean-Dupont", jd},
		{"https://www.linkedin.com/in/jean-dupont/details/experience/", jd},
		{"https://www.linkedin.com/in/jean-dupont/details/skills?trk=y", jd},
		{"linkedin.com/in/jean-dupont/fr", jd},                        // locale suffix
		{"https://www.linkedin.com/in/jean-dupont/en/", jd},           // locale suffix
		{"https://www.linkedin.com/in/jean-dupont/?locale=fr_FR", jd}, // locale query
		{"https://www.linkedin.com/in/jean-dupont-4a5b6c7d", "https://www.linkedin.com/in/jean-dupont-4a5b6c7d"},
		{"https://www.linkedin.com/in/jean_dupont.42", "https://www.linkedin.com/in/jean_dupont.42"},
		// Percent-encoded non-ASCII slugs are decoded and lower-cased.
		{"https://fr.linkedin.com/in/Jean%C3%A9-Dupont?trk=x#y", "https://www.linkedin.com/in/jeané-dupont"},
		{"https://www.linkedin.com/in/jean%c3%a9-dupont", "https://www.linkedin.com/in/jeané-dupont"},
		{"https://www.linkedin.com/in/JEANÉ-DUPONT", "https://www.linkedin.com/in/jeané-dupont"},
		{"https://www.linkedin.com/in/jeane%CC%81-dupont", "https://www.linkedin.com/in/jeané-dupont"}, // NFD
		{"https://www.linkedin.com/in/%E5%BC%A0%E4%BC%9F", "https://www.linkedin.com/in/张伟"},
		{"https://www.linkedin.com/in/jean%2Ddupont", jd},
	}
	for _, tt := range tests {
		got, err := NormalizeLinkedIn(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeLinkedIn(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeLinkedInNotProfile(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"   ", "empty"},
		{"https://www.linkedin.com/company/acme", "company page"},
		{"linkedin.com/company/acme/", "company page"},
		{"https://www.linkedin.com/school/hec-paris/", "school page"},
		{"https://www.linkedin.com/showcase/acme-labs", "showcase page"},
		{"https://www.linkedin.com/posts/jean-dupont_activity-123", "a post"},
		{"https://www.linkedin.com/feed/update/urn:li:activity:123/", "a post"},
		{"https://www.linkedin.com/pulse/some-article-jean-dupont", "a post"},
		{"https://www.linkedin.com/pub/jean-dupont/12/345/678", "old /pub/ profile"},
		{"https://www.linkedin.com/profile/view?id=AAAA", "internal id"},
		{"https://www.linkedin.com/", "home page"},
		{"https://www.linkedin.com", "home page"},
		{"https://www.linkedin.com/in/", "no profile name"},
		{"https://www.linkedin.com/in//x", "no profile name"},
		{"https://www.linkedin.com/jobs/view/123", "not an /in/"},
		{"https://www.linkedin.com/groups/123", "not an /in/"},
		{"https://example.com/in/jean-dupont", "not linkedin.com"},
		{"https://linkedin.com.evil.example/in/jean-dupont", "not linkedin.com"},
		{"https://notlinkedin.com/in/jean-dupont", "not linkedin.com"},
		{"https://linkedin.com@evil.example/in/x", "not linkedin.com"},
		{"https://jean@www.linkedin.com/in/x", "user information"},
		{"https://lnkd.in/abc", "not linkedin.com"},
		{"ftp://www.linkedin.com/in/jean-dupont", "not an http(s) URL"},
		{"https://www.linkedin.com/in/jean dupont", "white space"},
		{"https://www.linkedin.com/in/jean%20dupont", "invalid character"},
		{"https://www.linkedin.com/in/jean%2Fdupont", "invalid character"},
		{"https://www.linkedin.com/in/jean%25dupont", "invalid character"},
		{"https://www.linkedin.com/in/jean%zzdupont", "parse"},
		{"https://www.linkedin.com/in/%FF", "badly percent-encoded"},
		{"https://www.linkedin.com/in/---", "no letter or digit"},
		{"https://www.linkedin.com/in/" + strings.Repeat("a", 257), "longer than 256"},
		{"jean-dupont", "not linkedin.com"},
		{"@jeandupont", "not linkedin.com"},
		{strings.Repeat("x", MaxFieldLen+1), "longer than"},
	}
	for _, tt := range tests {
		got, err := NormalizeLinkedIn(tt.in)
		if err == nil {
			t.Errorf("NormalizeLinkedIn(%q) = %q, want an error with %q", tt.in, got, tt.reason)
			continue
		}
		if !errors.Is(err, ErrNotProfile) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("NormalizeLinkedIn(%q) error = %v, want ErrNotProfile with %q", tt.in, err, tt.reason)
		}
	}
}
