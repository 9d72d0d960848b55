package nextleadtest

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mapping/nextleadmap"
)

// oldContactID is the id scheme of the JSON-per-contact store, which ids
// must keep.
func oldContactID(salt uint64, i int32) string {
	h := fnv.New64a()
	var b [8]byte
	for k := range 8 {
		b[k] = byte((uint64(i) ^ salt) >> (8 * k))
	}
	_, _ = h.Write(b[:])
	tail := strconv.FormatUint(h.Sum64(), 36)
	head := strconv.FormatUint(uint64(i), 36)
	return "c" + strings.Repeat("0", 8-len(head)) + head + strings.Repeat("0", 16-len(tail)) + tail
}

func TestContactIDUnchanged(t *testing.T) {
	for _, seed := range []uint64{1, 2, 12345} {
		s := &Server{idSalt: seed * 0x9e3779b97f4a7c15}
		for _, i := range []int32{0, 1, 35, 36, 1000, 999_999, 1 << 30, math.MaxInt32} {
			if got, want := s.contactID(i), oldContactID(s.idSalt, i); got != want {
				t.Fatalf("contactID(%d) = %q, want %q", i, got, want)
			}
		}
	}
}

// oddStrings are values that exercise the JSON string encoding.
var oddStrings = []string{
	"", "plain", "Fondateur & CEO", "<b>x</b>", `quote " and \ backslash`, "tab\tnew\nline\rcr",
	"\b\f\x00\x01\x1f\x7f", "line\u2028sep\u2029", "bad \xff utf8 \xc3", "Élodie Çağla 日本 😀",
	"  spaced@Example.COM ", "https://www.linkedin.com/in/x/",
}

func randomContact(r *rand.Rand) nextleadmap.Contact {
	pick := func() string {
		if r.IntN(3) == 0 {
			return ""
		}
		return oddStrings[r.IntN(len(oddStrings))]
	}
	var c nextleadmap.Contact
	for _, p := range slots(&c) {
		if p != nil {
			*p = pick()
		}
	}
	switch r.IntN(4) {
	case 1:
		c.ListIDs = []string{pick()}
	case 2:
		c.ListIDs = []string{pick(), pick(), "list-3"}
	}
	switch r.IntN(4) {
	case 1:
		c.LeadScore = nextleadmap.Score{V: r.IntN(201) - 100, Valid: true}
	case 2:
		c.LeadScore = nextleadmap.Score{V: int(r.Int64()), Valid: true}
	case 3:
		c.LeadScore = nextleadmap.Score{V: 0, Valid: true}
	}
	c.EmailVerified = r.IntN(2) == 0
	return c
}

// TestPackedMatchesJSON checks that a packed contact reads back, and
// encodes, exactly as the JSON encoding of the wire record it replaced did.
func TestPackedMatchesJSON(t *testing.T) {
	s := &Server{idSalt: 0x9e3779b97f4a7c15, nameIdx: map[string]uint32{}}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 5000 {
		c := randomContact(r)
		i := int32(r.IntN(1 << 20))
		created, updated := int64(1.7e12)+r.Int64N(1e10), int64(1.7e12)+r.Int64N(1e10)
		c.ID = s.contactID(i)
		c.CreatedAt, c.UpdatedAt = fmtMs(created), fmtMs(updated)
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		var wantC nextleadmap.Contact
		if err := json.Unmarshal(want, &wantC); err != nil {
			t.Fatal(err)
		}
		data := s.pack(&c)
		var u unpacked
		unpack(data, s.names, &u)
		if got := appendContact(nil, s.appendID(nil, i), &u, created, updated); !bytes.Equal(got, want) {
			t.Fatalf("contact %d encodes as\n%s\nwant\n%s", n, got, want)
		}
		if got := u.contact(c.ID, created, updated); !reflect.DeepEqual(got, wantC) {
			t.Fatalf("contact %d reads back as\n%+v\nwant\n%+v", n, got, wantC)
		}
		for _, f := range []int{fEmail, fFirstName, fLastName, fLinkedIn} {
			if got := field(data, f); got != u.v[f] {
				t.Fatalf("contact %d: field %d = %q, want %q", n, f, got, u.v[f])
			}
		}
		// touch encoded the edited contact as given, remove the decoded one.
		for _, key := range []string{"updated_at", "deleted_at"} {
			it := nextleadmap.FeedItem{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
				UpdatedAt: fmtMs(updated)}
			if key == "deleted_at" {
				it = nextleadmap.FeedItem{ID: wantC.ID, Email: wantC.Email, FirstName: wantC.FirstName,
					LastName: wantC.LastName, DeletedAt: fmtMs(updated)}
			}
			want, _ := json.Marshal(it)
			got := appendFeedItem(nil, s.appendID(nil, i), data, updated, key, key == "deleted_at")
			if !bytes.Equal(got, want) {
				t.Fatalf("feed item encodes as\n%s\nwant\n%s", got, want)
			}
		}
	}
}
