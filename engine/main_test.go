package engine_test

import (
	"testing"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// TestMain routes through pgtest so that the package's Postgres container is
// terminated when the tests end. Every test file of package engine_test
// shares it.
func TestMain(m *testing.M) { pgtest.Main(m) }
