package pgtest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, db, want string
	}{
		{"url", "postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable", "x_1",
			"postgres://u:p@127.0.0.1:5432/x_1?sslmode=disable"},
		{"url without path", "postgresql://u@h:1", "x", "postgresql://u@h:1/x"},
		{"url with dbname param", "postgres://h/a?dbname=a", "b", "postgres://h/b?dbname=b"},
		{"keyword/value", "host=h user=u", "x", "host=h user=u dbname='x'"},
		{"keyword/value quoting", "host=h", `a'b\c`, `host=h dbname='a\'b\\c'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := withDatabase(tt.in, tt.db); got != tt.want {
				t.Errorf("withDatabase(%q, %q) = %q, want %q", tt.in, tt.db, got, tt.want)
			}
		})
	}
}

// TestErrorsHideCredentials checks that a server that does not answer gives
// an error without the password of the connection string.
func TestErrorsHideCredentials(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Pa55word"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, withDatabase("postgres://crm:"+secret+"@"+addr+"/postgres?connect_timeout=1", "other"))
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	defer pool.Close()
	err = waitReady(ctx, pool)
	if err == nil {
		t.Fatal("waitReady succeeded against a closed port")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
	if _, perr := pgxpool.New(ctx, "postgres://crm:"+secret+"@"+addr+"/x?sslmode=bogus"); perr == nil {
		t.Error("bad sslmode accepted")
	} else if strings.Contains(perr.Error(), secret) {
		t.Errorf("parse error shows the password: %v", perr)
	}
}
