package simulate

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

// The admin routes of a simulator process (AdminHandler), under its admin
// URL. Every route needs "Authorization: Bearer ADMIN_TOKEN". They are
// served on their own listener, so the simulator never counts them.
const (
	// RouteRecords streams every live record in listing order as NDJSON
	// (id, person, changed_at, issues), then {"end":true,"count":N}.
	RouteRecords = "/admin/records"
	// RouteRequests answers the request counts by route template (what
	// Requests returns) as a JSON object.
	RouteRequests = "/admin/requests"
	// RouteLatency (POST, ?d=DURATION) sets the latency added to every
	// answer.
	RouteLatency = "/admin/latency"
	// RouteBaseline (POST, ?holds=field,field…) remembers the records as
	// they are, hashed over those canonical fields: {"records": N}.
	RouteBaseline = "/admin/baseline"
	// RouteWrites answers the records created or changed since the
	// baseline: {"creates": N, "updates": M}.
	RouteWrites = "/admin/writes"
	// RouteRSS answers the process's peak RSS: {"peak_rss_bytes": N}.
	RouteRSS = "/admin/rss"
)

// NewAdminToken returns a random admin token.
func NewAdminToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// baselineAnswer is RouteBaseline's answer.
type baselineAnswer struct {
	Records int `json:"records"`
}

// rssAnswer is RouteRSS's answer.
type rssAnswer struct {
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// AdminHandler serves the admin routes over l to callers with token.
func AdminHandler(l *Local, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+RouteRecords, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		// The status is sent; a failure half-way shows as a stream
		// without its end line.
		_ = writeRecords(w, Records(l.sim))
	})
	mux.HandleFunc("GET "+RouteRequests, func(w http.ResponseWriter, r *http.Request) {
		m, _ := l.Requests(r.Context())
		writeJSON(w, m)
	})
	mux.HandleFunc("POST "+RouteLatency, func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil {
			http.Error(w, "d: "+err.Error(), http.StatusBadRequest)
			return
		}
		_ = l.SetLatency(r.Context(), d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+RouteBaseline, func(w http.ResponseWriter, r *http.Request) {
		holds, err := parseFields(r.URL.Query().Get("holds"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, _ := l.MarkBaseline(r.Context(), holds)
		writeJSON(w, baselineAnswer{Records: n})
	})
	mux.HandleFunc("GET "+RouteWrites, func(w http.ResponseWriter, r *http.Request) {
		wr, err := l.Writes(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, wr)
	})
	mux.HandleFunc("GET "+RouteRSS, func(w http.ResponseWriter, r *http.Request) {
		n, _ := l.PeakRSS(r.Context())
		writeJSON(w, rssAnswer{PeakRSSBytes: n})
	})
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// formatFields renders a field set as RouteBaseline's holds parameter.
func formatFields(s mapping.FieldSet) string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, string(f))
	}
	return strings.Join(names, ",")
}

// parseFields reads a holds parameter.
func parseFields(s string) (mapping.FieldSet, error) {
	var set mapping.FieldSet
	if s == "" {
		return 0, nil
	}
	for name := range strings.SplitSeq(s, ",") {
		f := mapping.Field(name)
		b := mapping.NewFieldSet(f)
		if b == 0 {
			return 0, fmt.Errorf("holds: unknown field %q", name)
		}
		set |= b
	}
	return set, nil
}
