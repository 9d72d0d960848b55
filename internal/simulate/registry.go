// Package simulate starts the fake CRMs outside tests: `crmsync simulate`
// runs one seeded simulator on a local address, and the registry functions
// NewSimulator and NewProvider let the engine and the CLI build any
// provider's simulator or adapter by kind.
package simulate

import (
	"fmt"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/epixel"
	"github.com/crmsync/crmsync/providers/epixel/epixeltest"
	"github.com/crmsync/crmsync/providers/ligo"
	"github.com/crmsync/crmsync/providers/ligo/ligotest"
	"github.com/crmsync/crmsync/providers/nextlead"
	"github.com/crmsync/crmsync/providers/nextlead/nextleadtest"
	"github.com/crmsync/crmsync/providers/skarbe"
	"github.com/crmsync/crmsync/providers/skarbe/skarbetest"
)

// Kinds lists the provider kinds the registry knows.
func Kinds() []string { return []string{"nextlead", "skarbe", "epixel", "ligo"} }

// NewSimulator starts the simulator of kind listening on addr ("" means
// 127.0.0.1:0, a free port). The caller closes it.
func NewSimulator(kind, addr string) (providers.Simulator, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var (
		sim providers.Simulator
		err error
	)
	switch kind {
	case "nextlead":
		var s *nextleadtest.Server
		if s, err = nextleadtest.New(nextleadtest.Options{Addr: addr}); err == nil {
			sim = s
		}
	case "skarbe":
		var s *skarbetest.Server
		if s, err = skarbetest.New(skarbetest.Options{Addr: addr}); err == nil {
			sim = s
		}
	case "epixel":
		var s *epixeltest.Server
		if s, err = epixeltest.New(epixeltest.Options{Addr: addr}); err == nil {
			sim = s
		}
	case "ligo":
		var s *ligotest.Server
		if s, err = ligotest.New(ligotest.Options{Addr: addr}); err == nil {
			sim = s
		}
	default:
		return nil, fmt.Errorf("unknown provider kind %q (want one of %v)", kind, Kinds())
	}
	if err != nil {
		return nil, fmt.Errorf("start %s simulator on %s: %w", kind, addr, err)
	}
	return sim, nil
}

// NewProvider builds the adapter of kind with opts.
func NewProvider(kind string, opts providers.Options) (providers.Provider, error) {
	var (
		p   providers.Provider
		err error
	)
	switch kind {
	case "nextlead":
		var a *nextlead.Adapter
		if a, err = nextlead.New(opts); err == nil {
			p = a
		}
	case "skarbe":
		var a *skarbe.Adapter
		if a, err = skarbe.New(opts); err == nil {
			p = a
		}
	case "epixel":
		var a *epixel.Adapter
		if a, err = epixel.New(opts); err == nil {
			p = a
		}
	case "ligo":
		var a *ligo.Adapter
		if a, err = ligo.New(opts); err == nil {
			p = a
		}
	default:
		return nil, fmt.Errorf("unknown provider kind %q (want one of %v)", kind, Kinds())
	}
	if err != nil {
		return nil, fmt.Errorf("new %s provider: %w", kind, err)
	}
	return p, nil
}
