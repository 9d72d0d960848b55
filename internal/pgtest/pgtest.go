// Package pgtest gives tests their own Postgres database.
//
// Each test package starts one Postgres container, lazily, through
// testcontainers-go's postgres module; a template database in it is migrated
// once with schema.Migrate, and every test gets a fresh database cloned from
// that template, so tests that call t.Parallel run in parallel, isolated.
//
// A package using pgtest must route its TestMain through Main, which
// terminates the container when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Environment:
//
//   - CRMSYNC_TEST_POSTGRES_IMAGE chooses the image (default
//     postgres:16-alpine, the official image). scripts/test-env.sh builds a
//     local image from Debian's packages where no registry is reachable.
//   - CRMSYNC_TEST_DATABASE_URL makes the same tests use an existing server
//     (PostgreSQL 13 or later) instead of a container: the template and the
//     per-test databases are created there and dropped afterwards. The role
//     needs CREATEDB.
//
// With -short, tests that ask for a database are skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crmsync/crmsync/schema"
)

const (
	// EnvImage names the environment variable that chooses the Postgres image.
	EnvImage = "CRMSYNC_TEST_POSTGRES_IMAGE"
	// EnvDatabaseURL names the environment variable that points the tests at
	// an existing Postgres server instead of a container.
	EnvDatabaseURL = "CRMSYNC_TEST_DATABASE_URL"
	// EnvSession names the environment variable whose value, when set, is
	// put on the container as the label LabelSession, so that a test script
	// can remove whatever a crashed run left behind.
	EnvSession = "CRMSYNC_TEST_SESSION"
	// DefaultImage is the image used when EnvImage is not set.
	DefaultImage = "postgres:16-alpine"

	// LabelOwner is set to "true" on every container pgtest starts.
	LabelOwner = "org.crmsync.pgtest"
	// LabelSession carries the value of EnvSession.
	LabelSession = "org.crmsync.pgtest.session"

	// dbPrefix starts the name of every database pgtest creates.
	dbPrefix = "pgtest_"
	// staleAfter is how old a pgtest database on a shared server must be
	// before a later run drops it as left behind by a crashed run.
	staleAfter = 3 * time.Hour
	// setupTimeout bounds starting the container and migrating the template.
	setupTimeout = 3 * time.Minute
	// opTimeout bounds creating or dropping one database.
	opTimeout = time.Minute
)

// harness is the per-test-package state: one server, one template.
type harness struct {
	mainCalled atomic.Bool

	once sync.Once
	srv  *server
	err  error

	// mu serializes CREATE DATABASE: Postgres refuses to copy a template
	// that another session is using.
	mu sync.Mutex
	n  atomic.Int64
}

// server is a Postgres server with a migrated template database.
type server struct {
	// baseURL connects to the maintenance database.
	baseURL   string
	admin     *pgxpool.Pool
	container *postgres.PostgresContainer
	watchdog  io.WriteCloser
	// run prefixes this process's database names: pgtest_<unix>_<random>_.
	run      string
	template string
}

var h harness

// Main runs the tests of a package that uses pgtest and then terminates the
// Postgres container (or drops the template database on a server given by
// CRMSYNC_TEST_DATABASE_URL). Call it from TestMain and do nothing else there
// before it. On SIGINT or SIGTERM it terminates the container before exiting;
// when the test process dies otherwise (a panic, a timeout, SIGKILL) a small
// watchdog process started with the container removes it.
func Main(m *testing.M) {
	if id := os.Getenv(watchdogEnv); id != "" {
		os.Exit(runWatchdog(id))
	}
	h.mainCalled.Store(true)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "pgtest: %v: cleaning up\n", sig)
		h.shutdown()
		os.Exit(1)
	}()

	code := m.Run()
	signal.Stop(sigs)
	close(sigs)
	if err := h.shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// New returns a pool connected to a new database holding the migrated
// schema (crmsync's and River's), for this test only. The pool is closed and
// the database dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return connect(t, NewURL(t))
}

// NewURL is New for tests that need a connection string, e.g. to start the
// crmsync binary as a subprocess. The database is dropped when the test ends,
// forcibly disconnecting whoever is still connected.
func NewURL(t testing.TB) string {
	t.Helper()
	return h.newDatabase(t, true)
}

// NewEmpty returns a pool connected to a new, empty database (no schema), for
// this test only.
func NewEmpty(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return connect(t, NewEmptyURL(t))
}

// NewEmptyURL is NewEmpty for tests that need a connection string.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	return h.newDatabase(t, false)
}

func connect(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newDatabase creates a database for t, from the template or empty, and
// returns its connection string.
func (h *harness) newDatabase(t testing.TB, fromTemplate bool) string {
	t.Helper()
	if testing.Short() {
		t.Skip("pgtest: skipping a test that needs Postgres in -short mode")
	}
	if !h.mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	h.once.Do(func() { h.err = h.start() })
	if h.err != nil {
		t.Fatalf("pgtest: %v", h.err)
	}
	s := h.srv

	name := s.run + strconv.FormatInt(h.n.Add(1), 10)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if fromTemplate {
		stmt += " TEMPLATE " + pgx.Identifier{s.template}.Sanitize()
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	h.mu.Lock()
	_, err := s.admin.Exec(ctx, stmt)
	h.mu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := dropDatabase(ctx, s.admin, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s.urlFor(name)
}

// shutdown terminates the container or drops the template database.
//
// It may run from the signal handler while a test or the start is under
// way; a container that is still starting is left to the watchdog, which
// removes it when this process exits.
func (h *harness) shutdown() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.srv
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var errs []error
	if s.container == nil && s.admin != nil && s.template != "" {
		if err := dropDatabase(ctx, s.admin, s.template); err != nil {
			errs = append(errs, err)
		}
	}
	if s.admin != nil {
		s.admin.Close()
	}
	if s.container != nil {
		if err := s.container.Terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("terminate postgres container: %w", err))
		} else if s.watchdog != nil {
			_, _ = io.WriteString(s.watchdog, watchdogDone)
		}
	}
	if s.watchdog != nil {
		_ = s.watchdog.Close()
	}
	return errors.Join(errs...)
}

// start brings up the server (container or CRMSYNC_TEST_DATABASE_URL) and
// migrates the template database. It sets h.srv first, so that shutdown
// cleans up whatever a failed start left.
func (h *harness) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("random name: %w", err)
	}
	s := &server{run: fmt.Sprintf("%s%d_%s_", dbPrefix, time.Now().Unix(), hex.EncodeToString(rnd[:]))}
	s.template = s.run + "tmpl"
	h.mu.Lock()
	h.srv = s
	h.mu.Unlock()

	external := os.Getenv(EnvDatabaseURL)
	if external != "" {
		s.baseURL = external
	} else {
		if err := s.startContainer(ctx); err != nil {
			return err
		}
	}

	admin, err := pgxpool.New(ctx, s.baseURL)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	h.mu.Lock()
	s.admin = admin
	h.mu.Unlock()
	if err := waitReady(ctx, admin); err != nil {
		return err
	}
	if external != "" {
		dropStale(ctx, admin)
	}
	return s.migrateTemplate(ctx)
}

// startContainer runs the Postgres container and its watchdog.
func (s *server) startContainer(ctx context.Context) error {
	img := os.Getenv(EnvImage)
	if img == "" {
		img = DefaultImage
	}
	labels := map[string]string{LabelOwner: "true"}
	if session := os.Getenv(EnvSession); session != "" {
		labels[LabelSession] = session
	}
	ctr, err := postgres.Run(ctx, img,
		testcontainers.WithLabels(labels),
		// The watchdog starts as soon as the container exists, so that it
		// is removed even when the test process dies while it starts.
		testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostCreates: []testcontainers.ContainerHook{func(_ context.Context, c testcontainers.Container) error {
				w, err := startWatchdog(c.GetContainerID())
				if err != nil {
					slog.Warn("pgtest: no watchdog; a crashed test run may leave the container behind", slog.Any("error", err))
					return nil
				}
				h.mu.Lock()
				s.watchdog = w
				h.mu.Unlock()
				return nil
			}},
		}),
		// Both the official image and scripts/pg-image log readiness twice:
		// once for the init server, once for the real one.
		testcontainers.WithWaitStrategyAndDeadline(2*time.Minute,
			wait.ForLog("database system is ready to accept connections").WithOccurrence(2),
			wait.ForListeningPort("5432/tcp").SkipInternalCheck(),
		),
	)
	if ctr != nil {
		h.mu.Lock()
		s.container = ctr
		h.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("start postgres container from %s (run scripts/test-env.sh to prepare this machine, or set %s): %w",
			img, EnvDatabaseURL, err)
	}
	u, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return fmt.Errorf("postgres container connection string: %w", err)
	}
	s.baseURL = u
	return nil
}

// migrateTemplate creates the template database and applies the schema to it.
func (s *server) migrateTemplate(ctx context.Context) error {
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.template}.Sanitize()); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	pool, err := pgxpool.New(ctx, s.urlFor(s.template))
	if err != nil {
		return fmt.Errorf("connect to template database: %w", err)
	}
	// Closed before any clone: a template must have no other sessions.
	defer pool.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := schema.Migrate(ctx, pool, logger); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

// urlFor returns the connection string of database name on the server.
func (s *server) urlFor(name string) string {
	return withDatabase(s.baseURL, name)
}

// withDatabase replaces the database of a connection string, in URL or
// keyword/value form.
func withDatabase(connString, name string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err == nil {
			u.Path = "/" + name
			u.RawPath = ""
			q := u.Query()
			if q.Has("dbname") {
				q.Set("dbname", name)
				u.RawQuery = q.Encode()
			}
			return u.String()
		}
	}
	// Keyword/value form: a later dbname wins.
	return strings.TrimSpace(connString) + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'"
}

// waitReady pings the server until it answers: the container's port may be
// mapped a moment before Postgres accepts connections on it.
func waitReady(ctx context.Context, pool *pgxpool.Pool) error {
	var err error
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres does not answer: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dropDatabase drops a database, disconnecting its sessions.
func dropDatabase(ctx context.Context, admin *pgxpool.Pool, name string) error {
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// dropStale drops pgtest databases on a shared server that are older than
// staleAfter: left behind by runs that crashed before cleaning up.
func dropStale(ctx context.Context, admin *pgxpool.Pool) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'pgtest\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(name, dbPrefix), "_")
		sec, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		if err := dropDatabase(ctx, admin, name); err != nil {
			slog.Warn("pgtest: drop stale database", slog.String("database", name), slog.Any("error", err))
		}
	}
}
