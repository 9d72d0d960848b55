package nextlead_test

import (
	"testing"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/nextlead"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
	"github.com/crmsync/crmsync/providers/providertest"
)

// TestConformance runs the shared provider suite against the NextLead
// adapter and its simulator.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		NewSimulator: func(t *testing.T) providers.Simulator {
			s, err := nextleadtest.New(nextleadtest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
			return nextlead.New(opts)
		},
	})
}
