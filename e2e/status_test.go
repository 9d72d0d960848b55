package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/internal/simulate"
)

// run runs the crmsync binary and returns its stdout and stderr.
func run(t *testing.T, bin string, env []string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestStatusJSON migrates an empty database with `crmsync migrate` and checks
// that `crmsync status --json` prints one valid JSON object naming the four
// connections of a config file whose credentials come from ${VAR}s.
func TestStatusJSON(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyURL(t) // skips with -short
	bin := binary(t)

	env := cleanEnv("E2E_DATABASE_URL=" + dbURL)
	var secrets []string
	var cfg strings.Builder
	cfg.WriteString("database_url: ${E2E_DATABASE_URL}\nconnections:\n")
	for _, kind := range simulate.Kinds() {
		sim, err := simulate.NewSimulator(kind, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		if _, err := simulate.SeedDataset(sim, kind, 10, 1); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "  - name: %s\n    provider: %s\n    base_url: %s\n    credentials:\n", kind, kind, sim.URL())
		for k, v := range sim.Credentials() {
			name := strings.ToUpper("E2E_" + kind + "_" + k)
			env = append(env, name+"="+v)
			fmt.Fprintf(&cfg, "      %s: ${%s}\n", k, name)
			if len(v) >= 6 {
				secrets = append(secrets, v)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "crmsync.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	checkSecrets := func(what, s string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s shows a credential (%d chars)", what, len(sec))
			}
		}
	}

	// status before migrate fails and says what to do.
	out, errOut, err := run(t, bin, env, "--config", path, "status", "--json")
	if err == nil {
		t.Errorf("status on an unmigrated database succeeded:\n%s", out)
	} else if !strings.Contains(errOut, "crmsync migrate") {
		t.Errorf("status on an unmigrated database: stderr does not name crmsync migrate:\n%s", errOut)
	}
	checkSecrets("status on an unmigrated database", out+errOut)

	out, errOut, err = run(t, bin, env, "--config", path, "migrate")
	if err != nil {
		t.Fatalf("crmsync migrate: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "applied") {
		t.Errorf("crmsync migrate on an empty database printed %q", out)
	}
	out, errOut, err = run(t, bin, env, "--config", path, "migrate")
	if err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("second crmsync migrate: %v %q %s", err, out, errOut)
	}

	out, errOut, err = run(t, bin, env, "--config", path, "status", "--json")
	if err != nil {
		t.Fatalf("crmsync status --json: %v\n%s", err, errOut)
	}
	checkSecrets("status --json", out+errOut)
	if !json.Valid([]byte(out)) {
		t.Fatalf("status --json is not valid JSON:\n%s", out)
	}
	var st struct {
		Connections []struct {
			Name     string           `json:"name"`
			Provider string           `json:"provider"`
			Linked   *int64           `json:"linked_records"`
			Writes   map[string]int64 `json:"writes"`
			Skips    map[string]int64 `json:"skips_by_reason"`
			Failures map[string]int64 `json:"failures_by_reason"`
			Queued   *int64           `json:"push_queue"`
			Jobs     *int64           `json:"jobs_queued"`
			Running  *int64           `json:"jobs_running"`
		} `json:"connections"`
		People *int64 `json:"people"`
		Merges *int64 `json:"merges"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("decode status --json: %v", err)
	}
	if dec.More() {
		t.Errorf("status --json printed more than one JSON value")
	}
	if st.People == nil || st.Merges == nil {
		t.Errorf("status --json lacks people or merges: %s", out)
	}
	names := map[string]bool{}
	for _, c := range st.Connections {
		names[c.Name] = true
		if c.Provider != c.Name {
			t.Errorf("connection %s: provider %q", c.Name, c.Provider)
		}
		if c.Linked == nil || c.Queued == nil || c.Jobs == nil || c.Running == nil || c.Writes == nil || c.Skips == nil || c.Failures == nil {
			t.Errorf("connection %s lacks a field: %+v", c.Name, c)
		}
	}
	for _, kind := range simulate.Kinds() {
		if !names[kind] {
			t.Errorf("status --json does not name connection %s:\n%s", kind, out)
		}
	}
	if len(st.Connections) != 4 {
		t.Errorf("status --json has %d connections, want 4", len(st.Connections))
	}

	// The table form names them too.
	out, errOut, err = run(t, bin, env, "--config", path, "status")
	if err != nil {
		t.Fatalf("crmsync status: %v\n%s", err, errOut)
	}
	checkSecrets("status", out+errOut)
	for _, kind := range simulate.Kinds() {
		if !strings.Contains(out, kind) {
			t.Errorf("crmsync status does not name %s:\n%s", kind, out)
		}
	}
}
