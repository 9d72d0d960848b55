package admin

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/schema"
)

// Options configure the admin server.
type Options struct {
	// Addr to listen on; loopback by default ("127.0.0.1:8080").
	Addr string
	// Token is required (as "Authorization: Bearer TOKEN" or ?token=) when
	// Addr is not a loopback address; the server refuses to start without it.
	Token   string
	Engine  *engine.Engine
	Pool    *pgxpool.Pool
	Client  *river.Client[pgx.Tx]
	Metrics *Metrics
	Logger  *slog.Logger
}

// Server is the admin HTTP server.
type Server struct {
	opts Options
	ln   net.Listener
	mux  *http.ServeMux
	ui   *riverui.Handler
}

// New checks the options and binds the address.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin HTTP address %q: %w", opts.Addr, err)
	}
	if !isLoopback(host) && opts.Token == "" {
		return nil, fmt.Errorf("admin HTTP on %s is not loopback: set admin_token in the config or CRMSYNC_ADMIN_TOKEN", opts.Addr)
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	if opts.Client != nil {
		ui, err := riverui.NewHandler(&riverui.HandlerOpts{
			Endpoints: riverui.NewEndpoints(opts.Client, nil),
			Logger:    opts.Logger,
			Prefix:    "/riverui",
		})
		if err != nil {
			return nil, fmt.Errorf("river UI: %w", err)
		}
		s.ui = ui
		s.mux.Handle("/riverui/", ui)
	}
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	s.mux.HandleFunc("/readyz", s.readyz)
	s.mux.Handle("/metrics", promhttp.HandlerFor(opts.Metrics.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/status.json", s.statusJSON)
	s.mux.HandleFunc("/{$}", s.health)
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin HTTP: %w", err)
	}
	s.ln = ln
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Handler returns the server's handler (with the token check).
func (s *Server) Handler() http.Handler {
	if s.opts.Token == "" {
		return s.mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			s.mux.ServeHTTP(w, r)
			return
		}
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if got == "" {
			got = r.URL.Query().Get("token")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// Serve serves until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	if s.ui != nil {
		if err := s.ui.Start(ctx); err != nil {
			return fmt.Errorf("river UI: %w", err)
		}
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.opts.Pool.Ping(ctx); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	ok, err := schema.Current(ctx, s.opts.Pool)
	if err != nil || !ok {
		http.Error(w, "migrations not current: run crmsync migrate", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) statusJSON(w http.ResponseWriter, r *http.Request) {
	st, err := s.opts.Engine.Status(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// minuteBar is one bar of the writes-per-minute chart.
type minuteBar struct {
	Minute time.Time
	Count  int64
	X, H   int
}

//go:embed health.html
var healthHTML string

var healthTmpl = template.Must(template.New("health").Funcs(template.FuncMap{
	"ago": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return time.Since(*t).Round(time.Second).String() + " ago"
	},
	"sum": func(m map[string]int64) int64 {
		var n int64
		for _, v := range m {
			n += v
		}
		return n
	},
}).Parse(healthHTML))

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	st, err := s.opts.Engine.Status(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	bars, err := s.writesPerMinute(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := healthTmpl.Execute(w, map[string]any{"S": st, "Bars": bars, "Now": time.Now().UTC().Format(time.RFC3339)}); err != nil {
		s.opts.Logger.Warn("render health page", slog.String("error", err.Error()))
	}
}

// writesPerMinute returns the last 30 minutes of writes, all connections.
func (s *Server) writesPerMinute(ctx context.Context) ([]minuteBar, error) {
	rows, err := s.opts.Pool.Query(ctx, `SELECT m.minute, coalesce(sum(w.count), 0)::bigint
		FROM generate_series(date_trunc('minute', now()) - interval '29 minutes', date_trunc('minute', now()), interval '1 minute') AS m(minute)
		LEFT JOIN crmsync_write_minute w ON w.minute = m.minute GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("writes per minute: %w", err)
	}
	defer rows.Close()
	var bars []minuteBar
	var peak int64 = 1
	for rows.Next() {
		var b minuteBar
		if err := rows.Scan(&b.Minute, &b.Count); err != nil {
			return nil, err
		}
		peak = max(peak, b.Count)
		bars = append(bars, b)
	}
	for i := range bars {
		bars[i].X = i * 20
		bars[i].H = int(bars[i].Count * 100 / peak)
	}
	return bars, rows.Err()
}
