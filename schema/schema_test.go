package schema_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/internal/pgtest"
	"github.com/crmsync/crmsync/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func allVersions(t *testing.T) []int {
	t.Helper()
	migs, err := schema.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(migs) == 0 {
		t.Fatal("no embedded migrations")
	}
	var vs []int
	for i, m := range migs {
		if i > 0 && m.Version <= migs[i-1].Version {
			t.Fatalf("migration versions not strictly increasing: %d after %d", m.Version, migs[i-1].Version)
		}
		vs = append(vs, m.Version)
	}
	return vs
}

func countApplied(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM crmsync_migration").Scan(&n); err != nil {
		t.Fatalf("count crmsync_migration: %v", err)
	}
	return n
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	want := allVersions(t)
	pool := pgtest.NewEmpty(t)
	ctx := t.Context()

	first, err := schema.Migrate(ctx, pool, quietLogger())
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	if !slices.Equal(first.Crmsync, want) {
		t.Errorf("first Migrate applied crmsync %v, want %v", first.Crmsync, want)
	}
	if len(first.River) == 0 {
		t.Error("first Migrate applied no River migration")
	}
	ok, err := schema.Current(ctx, pool)
	if err != nil || !ok {
		t.Errorf("Current after Migrate = %v, %v; want true, nil", ok, err)
	}

	second, err := schema.Migrate(ctx, pool, nil)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(second.Crmsync) != 0 || len(second.River) != 0 {
		t.Errorf("second Migrate applied %+v, want nothing", second)
	}
	if got := countApplied(t, pool); got != len(want) {
		t.Errorf("crmsync_migration has %d rows, want %d", got, len(want))
	}
}

// TestMigrateConcurrent runs two Migrate calls at once on a fresh database,
// through two pools like two processes: both succeed and every migration is
// applied exactly once.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	want := allVersions(t)
	url := pgtest.NewEmptyURL(t)
	ctx := t.Context()

	const n = 2
	var (
		wg      sync.WaitGroup
		results [n]schema.Result
		errs    [n]error
		start   = make(chan struct{})
	)
	for i := range n {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatalf("pool %d: %v", i, err)
		}
		t.Cleanup(pool.Close)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = schema.Migrate(ctx, pool, quietLogger())
		}()
	}
	close(start)
	wg.Wait()

	var crmsync, river []int
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Migrate %d: %v", i, errs[i])
		}
		crmsync = append(crmsync, results[i].Crmsync...)
		river = append(river, results[i].River...)
	}
	slices.Sort(crmsync)
	if !slices.Equal(crmsync, want) {
		t.Errorf("crmsync migrations applied across both calls = %v, want each of %v once", crmsync, want)
	}
	if len(river) == 0 || len(slices.Compact(slices.Sorted(slices.Values(river)))) != len(river) {
		t.Errorf("River migrations applied across both calls = %v, want each once", river)
	}
	for i := range n {
		if len(results[i].Crmsync) != 0 && len(results[(i+1)%n].Crmsync) != 0 {
			t.Errorf("both calls applied crmsync migrations: %v and %v", results[i].Crmsync, results[(i+1)%n].Crmsync)
		}
	}

	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	defer pool.Close()
	if got := countApplied(t, pool); got != len(want) {
		t.Errorf("crmsync_migration has %d rows, want %d", got, len(want))
	}
}
