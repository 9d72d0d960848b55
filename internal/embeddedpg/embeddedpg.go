// Package embeddedpg starts a throwaway PostgreSQL server for `crmsync demo`
// and `crmsync bench`, so that they need neither configuration nor an existing
// database.
//
// Start looks for the server binaries (initdb and postgres) on PATH and in the
// usual install locations (see Find). When they are found it initialises a
// fresh data directory, starts the server on a free port on 127.0.0.1 and
// creates the database "crmsync". When no binaries are installed and a Docker
// engine answers, it starts a container through testcontainers-go instead
// (image from CRMSYNC_TEST_POSTGRES_IMAGE, else postgres:16-alpine). Otherwise
// it returns an error that says what to install.
//
// Data directories: by default they live under os.UserCacheDir()/crmsync/pg,
// one directory per server, removed by Stop. When the process runs as root,
// initdb and postgres refuse to run, so they are started as the "postgres"
// system user; root's cache directory (/root/.cache) is not traversable by
// that user, so the default data root is then os.TempDir() and each server
// gets its own os.TempDir()/crmsync-pg-<random> directory owned by postgres.
// Directories left behind by a process that was killed are removed by the next
// Start once their server is gone. The output of initdb is cached in the data
// root (crmsync-template-<hash>, about 40 MB) and copied for each server,
// which brings startup from about 2 s to about 0.6 s.
package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Kinds of server returned by Server.Kind.
const (
	// KindBinaries is a server run from locally installed binaries.
	KindBinaries = "binaries"
	// KindDocker is a server run in a Docker container via testcontainers-go.
	KindDocker = "docker"
)

// DatabaseName is the database created in every server and named in its URL.
const DatabaseName = "crmsync"

// ImageEnv names the environment variable that chooses the Docker image used
// when no binaries are installed.
const ImageEnv = "CRMSYNC_TEST_POSTGRES_IMAGE"

// DefaultImage is the Docker image used when ImageEnv is unset.
const DefaultImage = "postgres:16-alpine"

// ErrNotInstalled is returned (wrapped, with installation advice) when neither
// PostgreSQL server binaries nor a Docker engine are available.
var ErrNotInstalled = errors.New("no PostgreSQL server available")

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Logger receives progress messages. Nil discards them.
	Logger *slog.Logger
	// DataRoot is the directory under which the per-server data directory is
	// created. Default: os.UserCacheDir()/crmsync/pg, or os.TempDir() when
	// running as root (the postgres user must be able to traverse DataRoot).
	DataRoot string
	// AllowDocker permits the Docker fallback. The fallback is on by default:
	// a zero Options allows it too, so this field only documents intent; set
	// NoDocker to turn the fallback off.
	AllowDocker bool
	// NoDocker turns off the Docker fallback, whatever AllowDocker says.
	NoDocker bool
}

// Server is a running throwaway PostgreSQL. It is safe for concurrent use.
type Server struct {
	kind   string
	url    string
	logger *slog.Logger

	// dataDir is the directory removed by Stop ("" for docker).
	dataDir string
	stopFn  func(ctx context.Context) error

	stopOnce sync.Once
	stopErr  error
}

// Start starts a throwaway PostgreSQL and returns it. The caller must call
// Stop, which stops the server and removes its data directory. ctx bounds the
// startup only; the server runs until Stop (or, on Linux, until this process
// dies). When binaries are found but fail to start, Start returns that error
// rather than falling back to Docker.
func Start(ctx context.Context, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	began := time.Now()

	binDir, findErr := Find()
	if findErr == nil {
		srv, err := startBinaries(ctx, binDir, opts.DataRoot, logger)
		if err != nil {
			return nil, fmt.Errorf("embedded postgres from %s: %w", binDir, err)
		}
		logger.Info("embedded postgres started", "kind", KindBinaries, "bin_dir", binDir,
			"data_dir", srv.dataDir, "elapsed", time.Since(began).Round(time.Millisecond))
		return srv, nil
	}
	logger.Debug("no postgres binaries found", "err", findErr)

	if opts.NoDocker {
		return nil, fmt.Errorf("%w: %s", ErrNotInstalled, installHint(false))
	}
	if !dockerAvailable(ctx) {
		return nil, fmt.Errorf("%w: %s", ErrNotInstalled, installHint(true))
	}
	srv, err := startDocker(ctx, logger)
	if err != nil {
		return nil, fmt.Errorf("embedded postgres in docker: %w", err)
	}
	logger.Info("embedded postgres started", "kind", KindDocker,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return srv, nil
}

// URL returns a postgres:// connection string for the database "crmsync",
// usable by pgx.
func (s *Server) URL() string { return s.url }

// Kind reports how the server runs: "binaries" or "docker".
func (s *Server) Kind() string { return s.kind }

// DataDir returns the directory that holds the server's data and that Stop
// removes; it is empty for a docker server.
func (s *Server) DataDir() string { return s.dataDir }

// Stop stops the server (fast shutdown, then SIGKILL after 10 s or when ctx
// ends) and removes its data directory or container. It is idempotent: later
// calls return the first call's result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.stopErr = s.stopFn(ctx)
		if s.stopErr == nil {
			s.logger.Info("embedded postgres stopped", "kind", s.kind)
		}
	})
	return s.stopErr
}

// dataRootDefault returns the data root used when Options.DataRoot is empty.
func dataRootDefault(asRoot bool) (string, error) {
	if asRoot {
		return os.TempDir(), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache dir (set Options.DataRoot): %w", err)
	}
	return filepath.Join(cache, "crmsync", "pg"), nil
}
