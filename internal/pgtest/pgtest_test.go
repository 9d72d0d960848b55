package pgtest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func tableExists(t *testing.T, pool *pgxpool.Pool, table string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil {
		t.Fatalf("look up table %s: %v", table, err)
	}
	return ok
}

func currentDatabase(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	return name
}

func databaseExists(t *testing.T, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var ok bool
	err := pool.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	if err != nil {
		t.Fatalf("look up database %s: %v", name, err)
	}
	return ok
}

// TestParallelIsolated runs two parallel tests that hold their databases at
// the same time: each has the migrated schema and sees only its own writes.
func TestParallelIsolated(t *testing.T) {
	t.Parallel()
	const n = 2
	var (
		arrived sync.WaitGroup
		mu      sync.Mutex
		names   = map[string]string{}
	)
	arrived.Add(n)
	for _, sub := range []string{"a", "b"} {
		t.Run(sub, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.New(t)
			for _, table := range []string{"river_job", "river_migration", "crmsync_migration"} {
				if !tableExists(t, pool, table) {
					t.Errorf("table %s missing", table)
				}
			}
			ctx := t.Context()
			if _, err := pool.Exec(ctx, "CREATE TABLE marker (who text NOT NULL)"); err != nil {
				t.Fatalf("create marker: %v", err)
			}
			if _, err := pool.Exec(ctx, "INSERT INTO marker VALUES ($1)", sub); err != nil {
				t.Fatalf("insert marker: %v", err)
			}
			mu.Lock()
			names[sub] = currentDatabase(t, pool)
			mu.Unlock()

			// Both tests hold their databases here at the same moment.
			arrived.Done()
			done := make(chan struct{})
			go func() { arrived.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the other parallel test did not arrive")
			}

			rows, err := pool.Query(ctx, "SELECT who FROM marker")
			if err != nil {
				t.Fatalf("read markers: %v", err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatalf("read markers: %v", err)
			}
			if len(got) != 1 || got[0] != sub {
				t.Errorf("markers = %v, want only [%s]", got, sub)
			}
			mu.Lock()
			defer mu.Unlock()
			if names["a"] == names["b"] {
				t.Errorf("both tests got database %q", names["a"])
			}
		})
	}
}

// TestRiverTables checks the River tables come with the template.
func TestRiverTables(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t)
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM river_job").Scan(&n); err != nil {
		t.Fatalf("query river_job: %v", err)
	}
	if n != 0 {
		t.Errorf("river_job has %d rows in a fresh database", n)
	}
	if !tableExists(t, pool, "river_queue") {
		t.Error("table river_queue missing")
	}
}

// TestEmpty checks NewEmpty gives a database without the schema.
func TestEmpty(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewEmpty(t)
	for _, table := range []string{"river_job", "crmsync_migration"} {
		if tableExists(t, pool, table) {
			t.Errorf("table %s exists in an empty database", table)
		}
	}
}

// TestURLAndCleanup connects through NewURL and checks the database is
// dropped when its test ends, even with a session still open.
func TestURLAndCleanup(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs Postgres")
	}
	var name string
	var leftOpen *pgx.Conn
	t.Run("use", func(t *testing.T) {
		url := pgtest.NewURL(t)
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatalf("connect to NewURL: %v", err)
		}
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatalf("current_database: %v", err)
		}
		leftOpen = conn // like a subprocess that has not exited yet
	})
	if leftOpen != nil {
		defer leftOpen.Close(context.Background())
	}
	if name == "" {
		t.Fatal("subtest did not get a database")
	}
	other := pgtest.New(t)
	if databaseExists(t, other, name) {
		t.Errorf("database %s still exists after its test ended", name)
	}
}
