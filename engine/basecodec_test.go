package engine

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/crmsync/crmsync/mapping"
)

// genBaseText draws text of every kind a CRM can send: anything, and the
// characters encoding/json escapes (quotes, backslashes, control
// characters, <, > and &, U+2028, invalid UTF-8).
func genBaseText() *rapid.Generator[string] {
	special := rapid.SampledFrom([]string{`"`, `\`, "\x00", "\x01", "\b", "\f", "\n", "\r", "\t", "\x1f", "\x7f", "<", ">", "&",
		"\u2028", "\u2029", "\xff", "\xe2\x80", "é", "😀", "/"})
	piece := rapid.OneOf(rapid.String(), rapid.StringMatching(`[a-z@.+ 0-9]{0,6}`), special)
	return rapid.Custom(func(t *rapid.T) string {
		s := ""
		for _, p := range rapid.SliceOfN(piece, 0, 4).Draw(t, "pieces") {
			s += p
		}
		return s
	})
}

func genBasePerson() *rapid.Generator[mapping.Person] {
	text := genBaseText()
	opt := rapid.OneOf(rapid.Just(""), text)
	return rapid.Custom(func(t *rapid.T) mapping.Person {
		p := mapping.Person{
			FirstName: opt.Draw(t, "first"), LastName: opt.Draw(t, "last"),
			Emails: rapid.SliceOfN(text, 0, 3).Draw(t, "emails"), Phones: rapid.SliceOfN(text, 0, 3).Draw(t, "phones"),
			LinkedIn: opt.Draw(t, "linkedin"), Company: opt.Draw(t, "company"), JobTitle: opt.Draw(t, "title"),
			Website: opt.Draw(t, "website"), Address: opt.Draw(t, "address"), Facebook: opt.Draw(t, "facebook"),
			Instagram: opt.Draw(t, "instagram"), Twitter: opt.Draw(t, "twitter"), Notes: opt.Draw(t, "notes"),
			LeadStage: mapping.Stage(opt.Draw(t, "stage")), PipelineStage: opt.Draw(t, "pipeline"), Owner: opt.Draw(t, "owner"),
		}
		if len(p.Emails) == 0 {
			p.Emails = nil
		}
		if len(p.Phones) == 0 {
			p.Phones = nil
		}
		if rapid.Bool().Draw(t, "scored") {
			n := rapid.Int().Draw(t, "score")
			p.LeadScore = &n
		}
		return p
	})
}

// encodeBase writes what json.Unmarshal reads as json.Marshal's output
// would be read, and decodeBase reads both encodings as json.Unmarshal does.
func TestPropBaseCodecMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		p := genBasePerson().Draw(t, "person")
		marshaled, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		var want mapping.Person
		if err := json.Unmarshal(marshaled, &want); err != nil {
			t.Fatal(err)
		}
		got := encodeBase(&p)
		for _, enc := range [][]byte{got, marshaled} {
			var ref mapping.Person
			if err := json.Unmarshal(enc, &ref); err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", enc, err)
			}
			if !reflect.DeepEqual(ref, want) {
				t.Fatalf("json.Unmarshal(%s):\n got %#v\nwant %#v", enc, ref, want)
			}
			back, err := decodeBase(enc)
			if err != nil {
				t.Fatalf("decodeBase(%s): %v", enc, err)
			}
			if !reflect.DeepEqual(*back, want) {
				t.Fatalf("decodeBase(%s):\n got %#v\nwant %#v", enc, *back, want)
			}
		}
	})
}

// decodeBase agrees with json.Unmarshal on any input: the same person where
// it succeeds, an error where it fails.
func FuzzDecodeBase(f *testing.F) {
	for _, s := range []string{`{}`, `{"first_name":"a","emails":["x@y.z","b"],"lead_score":-3}`, `{"emails":[]}`,
		`{"first_name":"a\u0026b\"c"}`, `{"First_Name":"a"}`, `{"lead_score":01}`, `{"lead_score":1e3}`, `{"notes":null}`,
		`{"first_name":"a"} `, `{"first_name":"a","first_name":"b"}`, `{"phones":["1"],"phones":["2","3"]}`,
		`{"owner":"\ud83d\ude00"}`, "{\"owner\":\"\xff\"}", `{"lead_stage":"won","x":1}`, `{"lead_score":-}`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ref mapping.Person
		refErr := json.Unmarshal(b, &ref)
		got, err := decodeBase(b)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("decodeBase(%q) error %v, json.Unmarshal error %v", b, err, refErr)
		}
		if err == nil && !reflect.DeepEqual(*got, ref) {
			t.Fatalf("decodeBase(%q):\n got %#v\nwant %#v", b, *got, ref)
		}
	})
}

func BenchmarkBaseCodec(b *testing.B) {
	score := 42
	p := mapping.Person{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@example.com", "ada.l@work.example"},
		Phones: []string{"+441632960961"}, LinkedIn: "linkedin.com/in/ada", Company: "Analytical & Co", JobTitle: "Engineer",
		LeadStage: "qualified", LeadScore: &score}
	raw := encodeBase(&p)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeBase(&p)
		}
	})
	b.Run("encode/encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(&p)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = decodeBase(raw)
		}
	})
	b.Run("decode/encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var q mapping.Person
			_ = json.Unmarshal(raw, &q)
		}
	})
}

// Every field of mapping.Person, set, survives encodeBase and decodeBase:
// a field added to Person and not to the codec fails here.
func TestBaseCodecCoversEveryField(t *testing.T) {
	t.Parallel()
	var p mapping.Person
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("v" + strconv.Itoa(i))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"v" + strconv.Itoa(i)}))
		case reflect.Pointer:
			n := i
			f.Set(reflect.ValueOf(&n))
		default:
			t.Fatalf("field %s of kind %s: teach this test and the codec", v.Type().Field(i).Name, f.Kind())
		}
	}
	back, err := decodeBase(encodeBase(&p))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*back, p) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", *back, p)
	}
}
