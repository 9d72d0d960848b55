// Package schema holds crmsync's SQL migrations, embedded in the binary, and
// applies them together with River's.
package schema

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// lockKey is the advisory lock that serializes concurrent migrate runs
// (the bytes of "crmsync1").
const lockKey int64 = 0x63726d73796e6331

// Migration is one embedded SQL migration.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad version: %w", name, err)
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Result says what Migrate applied.
type Result struct {
	// River lists the River migration versions applied.
	River []int
	// Crmsync lists crmsync's migration versions applied.
	Crmsync []int
}

// Migrate applies River's migrations and then crmsync's, in order, each once.
// It holds a session advisory lock for the whole run, so that two processes
// migrating at the same moment run one after the other and the second finds
// nothing to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (Result, error) {
	var res Result
	if logger == nil {
		logger = slog.Default()
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return res, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even when ctx ended.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey)
	}()

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return res, fmt.Errorf("migrate: river migrator: %w", err)
	}
	rr, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return res, fmt.Errorf("migrate: river: %w", err)
	}
	for _, v := range rr.Versions {
		res.River = append(res.River, v.Version)
	}

	migs, err := Migrations()
	if err != nil {
		return res, err
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS crmsync_migration (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return res, fmt.Errorf("migrate: create version table: %w", err)
	}
	for _, m := range migs {
		applied, err := applyOne(ctx, conn.Conn(), m)
		if err != nil {
			return res, err
		}
		if applied {
			logger.InfoContext(ctx, "applied migration", slog.Int("version", m.Version), slog.String("name", m.Name))
			res.Crmsync = append(res.Crmsync, m.Version)
		}
	}
	return res, nil
}

func applyOne(ctx context.Context, conn *pgx.Conn, m Migration) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("migration %d: begin: %w", m.Version, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM crmsync_migration WHERE version = $1)", m.Version).Scan(&exists); err != nil {
		return false, fmt.Errorf("migration %d: check: %w", m.Version, err)
	}
	if exists {
		return false, nil
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO crmsync_migration (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, fmt.Errorf("migration %d: record: %w", m.Version, err)
	}
	return true, tx.Commit(ctx)
}

// Current reports whether every embedded migration is applied (for /readyz).
func Current(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	migs, err := Migrations()
	if err != nil {
		return false, err
	}
	var n int
	err = pool.QueryRow(ctx, "SELECT count(*) FROM crmsync_migration").Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read migration versions: %w", err)
	}
	return n >= len(migs), nil
}
