package config

import (
	"strings"
	"testing"
	"time"
)

const good = `database_url: postgres://u:secretpw@localhost:5432/db
connections:
  - name: nextlead
    provider: nextlead
    base_url: https://dashboard.nextlead.app
    credentials: {api_key: ${NL_KEY}}
    poll_interval: 5s
    rate_limit: 10/s
    priority: 2
    stage_map: {Prospect: new}
  - name: ep
    provider: epixel
    base_url: https://crm.example.com/api/v1
    credentials: {api_key: k, username: u, password: p}
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseGood(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(good), env(map[string]string{"NL_KEY": "nl-secret"}))
	if err != nil {
		t.Fatal(err)
	}
	nl := cfg.Connections[0]
	if nl.Credentials["api_key"] != "nl-secret" || nl.PollInterval != 5*time.Second || nl.RateLimit != 10 || nl.Priority != 2 {
		t.Fatalf("bad connection: %+v", nl)
	}
	if cfg.Connections[1].PollInterval != DefaultPollInterval {
		t.Fatalf("default poll interval not applied")
	}
	st, _ := nl.Stages()
	if s, ok := st.Inbound("prospect"); !ok || s != "new" {
		t.Fatalf("stage override not applied")
	}
	printed := cfg.String()
	for _, secret := range []string{"nl-secret", "secretpw"} {
		if strings.Contains(printed, secret) {
			t.Fatalf("secret %q printed: %s", secret, printed)
		}
	}
}

func TestParseEnvOverride(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(good), env(map[string]string{"NL_KEY": "x", "CRMSYNC_DATABASE_URL": "postgres://other/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://other/db" {
		t.Fatalf("CRMSYNC_DATABASE_URL did not override: %s", cfg.DatabaseURL)
	}
}

func TestParseErrors(t *testing.T) {
	base := "connections:\n  - name: a\n    provider: skarbe\n    base_url: http://x\n    credentials: {api_key: k}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "databse_url: x\n", `c.yaml:1: databse_url: unknown key`},
		{"unknown conn key", base + "    provder: x\n", `c.yaml:6: connections[0].provder: unknown key`},
		{"unknown provider", "connections:\n  - name: a\n    provider: hubspot\n    base_url: http://x\n", `c.yaml:2: connections[0].provider: unknown provider "hubspot" (want one of nextlead, skarbe, epixel, ligo)`},
		{"missing credential", "connections:\n  - name: a\n    provider: epixel\n    base_url: http://x\n    credentials: {api_key: k, username: u}\n", `c.yaml:5: connections[0].credentials.password: missing credential for provider epixel`},
		{"wrong type poll", base + "    poll_interval: often\n", `c.yaml:6: connections[0].poll_interval: want a positive duration like 30s, got "often"`},
		{"wrong type priority", base + "    priority: high\n", `c.yaml:6: connections[0].priority: want an integer, got "high"`},
		{"wrong type connections", "connections: 3\n", `c.yaml:1: connections: want a list of connections, got "3"`},
		{"bad rate", base + "    rate_limit: fast\n", `c.yaml:6: connections[0].rate_limit: want a rate like 10/s, got "fast"`},
		{"bad name", "connections:\n  - name: Bad_Name\n    provider: skarbe\n    base_url: http://x\n    credentials: {api_key: k}\n", `c.yaml:2: connections[0].name: "Bad_Name" must match [a-z0-9-]+`},
		{"unset env", "connections:\n  - name: a\n    provider: skarbe\n    base_url: http://x\n    credentials: {api_key: ${NOPE}}\n", `c.yaml:5: connections[0].credentials.api_key: environment variable NOPE is not set`},
		{"duplicate name", base + "  - name: a\n    provider: skarbe\n    base_url: http://x\n    credentials: {api_key: k}\n", `c.yaml:6: connections[1].name: duplicate connection name "a" (also at line 2)`},
		{"unknown stage", base + "    stage_map: {Hot: burning}\n", `connections[0].stage_map: stage_map: "Hot" maps to unknown stage "burning"`},
		{"bad propagate", base + "    propagate_deletes: maybe\n", `c.yaml:6: connections[0].propagate_deletes: want true or false, got "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.yaml), env(nil))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"10/s": 10, "120/m": 2, "3600/h": 1, "0.5/s": 0.5} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
