package providertest_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/providertest"
)

// harness runs the suite against the fake CRM with the given mutant ("" for
// a conforming adapter).
func harness(kind string) providertest.Harness {
	return providertest.Harness{
		NewSimulator: func(t *testing.T) providers.Simulator { return newFakeSim() },
		NewProvider: func(t *testing.T, opts providers.Options) (providers.Provider, error) {
			v, ok := fakeSims.Load(opts.BaseURL)
			if !ok {
				return nil, errors.New("no fake simulator at " + opts.BaseURL)
			}
			fp := &fakeProvider{sim: v.(*fakeSim), token: opts.Credentials["token"], timeout: opts.Timeout, mutant: kind}
			return &mutant{fakeProvider: fp, kind: kind}, nil
		},
	}
}

func TestSuitePassesOnFake(t *testing.T) {
	providertest.Run(t, harness(""))
}

// TestSuiteCatchesMutants runs the suite against adapters that each break
// the contract once, in a child process, and checks that it fails there.
func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for mutant, want := range map[string]string{
		"dup-list":      "yielded more than once",
		"stale-changes": "did not yield",
		"no-deletes":    "neither a delete",
		"leak":          "holds a credential",
		"untyped-429":   "want rate_limited",
	} {
		t.Run(mutant, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "PROVIDERTEST_MUTANT="+mutant)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an adapter with mutant %s:\n%s", mutant, out)
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("mutant %s: the suite failed without %q:\n%s", mutant, want, out)
			}
		})
	}
}

func TestMutantChild(t *testing.T) {
	m := os.Getenv("PROVIDERTEST_MUTANT")
	if m == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	providertest.Run(t, harness(m))
}
