package ligo_test

import (
	"testing"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/ligo"
	"github.com/crmsync/crmsync/providers/ligo/ligotest"
	"github.com/crmsync/crmsync/providers/providertest"
)

// TestConformance runs the shared provider suite against the Ligo adapter
// and its simulator.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		NewSimulator: func(t *testing.T) providers.Simulator {
			s, err := ligotest.New(ligotest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
			return ligo.New(opts)
		},
	})
}
