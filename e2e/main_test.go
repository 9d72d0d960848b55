// Package e2e runs the crmsync binary as users do: the demo with its admin
// HTTP driven by a headless Chromium (browser_test.go), and the CLI's
// migrate and status commands against a real Postgres (status_test.go).
//
// The tests build cmd/crmsync once per run. The browser test needs Debian's
// chromium at /usr/bin/chromium, which scripts/test-env.sh installs; without
// it the test fails (it never installs anything itself). Screenshots go to
// $CRMSYNC_ARTIFACTS, else e2e/artifacts/.
package e2e_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/internal/pgtest"
)

// TestMain routes through pgtest so that the package's Postgres container is
// terminated when the tests end.
func TestMain(m *testing.M) { pgtest.Main(m) }

// binary builds cmd/crmsync into the test's temporary directory and returns
// its path.
func binary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crmsync")
	goBin := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goBin = p
	}
	out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", path, "github.com/crmsync/crmsync/cmd/crmsync").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/crmsync: %v\n%s", err, out)
	}
	return path
}

// cleanEnv is the test process's environment without crmsync's own
// variables, so that a developer's settings do not leak into the binary.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CRMSYNC_CONFIG=") || strings.HasPrefix(kv, "CRMSYNC_DATABASE_URL=") ||
			strings.HasPrefix(kv, "CRMSYNC_ADMIN_TOKEN=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// lockedBuffer is a bytes.Buffer safe for a process's output goroutine and
// the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// artifactDir returns where the tests save artifacts: $CRMSYNC_ARTIFACTS,
// else e2e/artifacts.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CRMSYNC_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact directory: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
