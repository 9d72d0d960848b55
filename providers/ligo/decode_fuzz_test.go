package ligo

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mapping/ligomap"
)

// FuzzDecodePage feeds arbitrary bytes to the streaming page decoder: it
// must never panic, and on success hydra:next is what the page said.
func FuzzDecodePage(f *testing.F) {
	f.Add(`{"@type":"hydra:Collection","hydra:member":[{"id":"1","name":"A B","emails":["a@b.co"],"pipelineState":null}],"hydra:totalItems":1,"hydra:view":{"hydra:next":"/api/contacts?page=2"}}`)
	f.Add(`{"member":[],"view":{"next":"/api/contacts?page=3"}}`)
	f.Add(`[{"id":"x","name":"Y"}]`)
	f.Add(`{"hydra:member":null}`)
	f.Add(`{"hydra:member":[{"id":1}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		n := 0
		next, err := decodePage(strings.NewReader(in), func(c ligomap.Contact) error {
			n++
			return nil
		})
		if err != nil && next != "" {
			t.Fatalf("next %q returned with error %v", next, err)
		}
		_, _ = resolveNext(next)
		_ = n
	})
}
