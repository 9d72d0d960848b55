package nextlead

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
)

// FuzzStreamList feeds arbitrary answers to the feed decoder and the field
// map: neither may panic, and a decoded list must match a whole-body decode.
func FuzzStreamList(f *testing.F) {
	for _, s := range []string{
		`{"status":200,"data":[{"id":"c1","email":"a@example.com","lead_score":85}]}`,
		`[{"id":"c1","linkedin":"linkedin.com/in/x","phone":"0612345678"}]`,
		`{"data":null}`,
		`{"status":401,"error":"Missing or invalid automation API key"}`,
		`{"extra":[1,{"a":2}],"data":[],"status":200}`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []nextleadmap.Contact
		err := streamList(bytes.NewReader(b), func(dec *json.Decoder) error {
			var c nextleadmap.Contact
			if err := dec.Decode(&c); err != nil {
				return err
			}
			got = append(got, c)
			return nil
		})
		for i := range got {
			nextleadmap.ToPerson(&got[i], mapping.StageMap{}, "")
		}
		if err != nil {
			return
		}
		var whole []nextleadmap.Contact
		if json.Unmarshal(b, &whole) == nil && len(whole) != len(got) {
			t.Fatalf("stream decoded %d items, whole body %d", len(got), len(whole))
		}
	})
}
