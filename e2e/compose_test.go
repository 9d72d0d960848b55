package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/internal/config"
)

// composeFile is the part of docker-compose.yml the test checks.
type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Restart     string            `yaml:"restart"`
		Profiles    []string          `yaml:"profiles"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// composeVar is a compose interpolation: ${NAME}, ${NAME:-default} or
// ${NAME:?error}.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

// interpolate resolves compose variables the way `docker compose config`
// does with an environment holding only env.
func interpolate(t *testing.T, s string, env map[string]string) string {
	t.Helper()
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		sm := composeVar.FindStringSubmatch(m)
		if v, ok := env[sm[1]]; ok && v != "" {
			return v
		}
		switch sm[2] {
		case ":-":
			return sm[3]
		case ":?":
			t.Errorf("compose needs %s: %s", sm[1], sm[3])
		}
		return ""
	})
}

// TestDockerCompose checks docker-compose.yml (it cannot run here: no
// registry): Postgres, a one-shot migrate, two workers started after it, the
// example config mounted, and that every ${VAR} of examples/crmsync.yaml is
// given by the compose environment so that the config loads.
func TestDockerCompose(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CRMSYNC_ADMIN_TOKEN": "compose-test-token"}
	var cf composeFile
	if err := yaml.Unmarshal([]byte(interpolate(t, string(raw), env)), &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	// Without the token the workers must not start.
	if !strings.Contains(string(raw), "${CRMSYNC_ADMIN_TOKEN:?") {
		t.Errorf("docker-compose.yml does not require CRMSYNC_ADMIN_TOKEN")
	}

	pg, ok := cf.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || pg.Healthcheck == nil {
		t.Errorf("postgres service: %+v", pg)
	}
	mig, ok := cf.Services["migrate"]
	if !ok {
		t.Fatal("no migrate service")
	}
	if strings.Join(mig.Command, " ") != "migrate" || mig.Restart != "no" || mig.Build == nil {
		t.Errorf("migrate service: command %v restart %q build %v", mig.Command, mig.Restart, mig.Build)
	}
	if mig.DependsOn["postgres"].Condition != "service_healthy" {
		t.Errorf("migrate does not wait for a healthy postgres: %+v", mig.DependsOn)
	}
	workers := 0
	for name, s := range cf.Services {
		if len(s.Command) == 0 || s.Command[0] != "worker" {
			continue
		}
		workers++
		if s.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s does not wait for migrate to complete: %+v", name, s.DependsOn)
		}
		if s.Environment["CRMSYNC_ADMIN_TOKEN"] != env["CRMSYNC_ADMIN_TOKEN"] {
			t.Errorf("%s has no admin token", name)
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond loopback", name, p)
			}
		}
		if s.Healthcheck == nil {
			t.Errorf("%s has no healthcheck", name)
		}
	}
	if workers != 2 {
		t.Errorf("%d worker services, want 2", workers)
	}

	// Every crmsync service mounts the example config, and its environment
	// makes that config load.
	for name, s := range cf.Services {
		if len(s.Profiles) > 0 {
			if len(s.Command) == 0 || s.Command[0] != "simulate" {
				t.Errorf("%s: profile service is not a simulator", name)
			}
			continue
		}
		if name == "postgres" {
			continue
		}
		mounted := ""
		for _, v := range s.Volumes {
			if strings.HasSuffix(v, ":/etc/crmsync/crmsync.yaml:ro") {
				mounted = strings.TrimSuffix(v, ":/etc/crmsync/crmsync.yaml:ro")
			}
		}
		if mounted == "" || s.Environment["CRMSYNC_CONFIG"] != "/etc/crmsync/crmsync.yaml" {
			t.Errorf("%s does not mount a config at /etc/crmsync/crmsync.yaml: %v", name, s.Volumes)
			continue
		}
		path := filepath.Join("..", filepath.FromSlash(strings.TrimPrefix(mounted, "./")))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s mounts %s: %v", name, mounted, err)
		}
		lookup := func(k string) (string, bool) { v, ok := s.Environment[k]; return v, ok }
		cfg, err := config.Parse(path, data, lookup)
		if err != nil {
			t.Fatalf("%s: the example config does not load with the compose environment: %v", name, err)
		}
		if !strings.Contains(cfg.DatabaseURL, "@postgres:5432/") {
			t.Errorf("%s: database URL %s does not name the postgres service", name, config.RedactURL(cfg.DatabaseURL))
		}
		got := map[string]string{}
		for _, c := range cfg.Connections {
			got[c.Name] = c.BaseURL
		}
		for _, kind := range []string{"nextlead", "skarbe", "epixel", "ligo"} {
			u, ok := got[kind]
			if !ok {
				t.Errorf("example config lacks connection %s", kind)
				continue
			}
			if sim, ok := cf.Services[kind+"-sim"]; !ok {
				t.Errorf("no %s-sim service", kind)
			} else if addr := sim.Command[len(sim.Command)-3]; !strings.Contains(u, kind+"-sim:"+strings.TrimPrefix(addr, "0.0.0.0:")) {
				t.Errorf("%s: base URL %s does not reach the simulator listening on %s", kind, u, addr)
			}
		}
	}
}

// TestDockerfile checks the image's Go version against go.mod and its
// stages.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	df, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.Contains(string(df), "FROM golang:"+string(m[1])) {
		t.Errorf("Dockerfile does not build with Go %s (go.mod)", m[1])
	}
	for _, want := range []string{"FROM debian:", "-slim", "COPY --from=build", `ENTRYPOINT ["crmsync"]`, "USER "} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
