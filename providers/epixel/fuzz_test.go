package epixel

import (
	"bytes"
	"testing"

	"github.com/crmsync/crmsync/mapping/epixelmap"
)

// FuzzDecodePage feeds arbitrary answers to the streaming list decoder: it
// must never panic, and never report more leads than it handed over.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"status_code":200,"errors":{},"data":{"count":1,"next":null,"previous":null,"results":[{"slug":"a-1","first_name":"A","last_name":"B","email":"a@b.co","phone":"+33612345678","location":"","message":"","status":"prospect","source":null,"assignee":null,"created_at":"2026-01-01T00:00:00.000Z"}]}}`))
	f.Add([]byte(`{"data":[{"slug":"x"}]}`))
	f.Add([]byte(`{"data":{"results":[{"slug":1}]}}`))
	f.Add([]byte(`{"data":{"next":"http://h/?offset=100","count":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		info, _ := decodePage(bytes.NewReader(b), func(epixelmap.Lead) error { n++; return nil })
		if info.results != n {
			t.Fatalf("info.results %d, handed over %d", info.results, n)
		}
	})
}
