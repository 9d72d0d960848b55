package skarbe_test

import (
	"testing"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/providertest"
	"github.com/crmsync/crmsync/providers/skarbe"
	"github.com/crmsync/crmsync/providers/skarbe/skarbetest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		NewSimulator: func(t *testing.T) providers.Simulator {
			s, err := skarbetest.New(skarbetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
			return skarbe.New(opts)
		},
	})
}
