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
	// Token is required (as "Authorization: Bearer TOKEN", ?token= or the
	// cookie ?token= sets; see Server.Handler) when
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
	if opts.Engine == nil || opts.Pool == nil {
		return nil, errors.New("admin HTTP: Engine and Pool are required")
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	names := make([]string, 0, len(opts.Engine.Conns()))
	for _, c := range opts.Engine.Conns() {
		names = append(names, c.Name())
	}
	opts.Metrics.Init(names)
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

// tokenCookie carries the admin token in a browser once it was given as
// ?token=, so that the page's links and the River UI's API calls work.
const tokenCookie = "crmsync_admin_token"

// Handler returns the server's handler (with the token check). The token is
// accepted as "Authorization: Bearer TOKEN", as ?token=TOKEN (which also sets
// an HttpOnly cookie for the following requests of a browser) or as that
// cookie. /healthz needs none.
func (s *Server) Handler() http.Handler {
	if s.opts.Token == "" {
		return s.mux
	}
	valid := func(got string) bool {
		return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			s.mux.ServeHTTP(w, r)
			return
		}
		if h := r.Header.Get("Authorization"); h != "" {
			if !valid(strings.TrimPrefix(h, "Bearer ")) {
				http.Error(w, "admin token required", http.StatusUnauthorized)
				return
			}
		} else if q := r.URL.Query().Get("token"); q != "" {
			if !valid(q) {
				http.Error(w, "admin token required", http.StatusUnauthorized)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: q, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		} else if c, err := r.Cookie(tokenCookie); err != nil || !valid(c.Value) {
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
	"last": func(b []minuteBar) int { return len(b) - 1 },
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
	var peak, total int64
	for _, b := range bars {
		peak = max(peak, b.Count)
		total += b.Count
	}
	data := map[string]any{"S": st, "Bars": bars, "Peak": peak, "Total": total, "Now": time.Now().UTC().Format(time.RFC3339)}
	if err := healthTmpl.Execute(w, data); err != nil {
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
		b.Minute = b.Minute.UTC()
		peak = max(peak, b.Count)
		bars = append(bars, b)
	}
	for i := range bars {
		bars[i].X = i * 20
		bars[i].H = int(bars[i].Count * 104 / peak)
	}
	return bars, rows.Err()
}
