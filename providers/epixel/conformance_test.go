package epixel_test

import (
	"testing"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/epixel"
	"github.com/crmsync/crmsync/providers/epixel/epixeltest"
	"github.com/crmsync/crmsync/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		NewSimulator: func(t *testing.T) providers.Simulator {
			s, err := epixeltest.New(epixeltest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
			return epixel.New(opts)
		},
	})
}
