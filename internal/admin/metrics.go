// Package admin is crmsync's operator surface over HTTP: health and
// readiness, Prometheus metrics, the River UI and the sync-health page.
package admin

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/providers"
)

// Metrics are the process's Prometheus metrics, on their own registry.
type Metrics struct {
	Registry       *prometheus.Registry
	RecordsPulled  *prometheus.CounterVec
	Writes         *prometheus.CounterVec
	Errors         *prometheus.CounterVec
	RateLimitWaits *prometheus.CounterVec
	JobDuration    *prometheus.HistogramVec
	PropagationLag *prometheus.HistogramVec
}

// NewMetrics registers crmsync's metric families.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		RecordsPulled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmsync_records_pulled_total", Help: "CRM records read by polls and listings."}, []string{"connection"}),
		Writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmsync_writes_total", Help: "Writes made to CRMs, by connection and kind (create, update, delete, skip)."},
			[]string{"connection", "kind"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmsync_errors_total", Help: "Failed CRM calls by connection and error class."}, []string{"connection", "class"}),
		RateLimitWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmsync_rate_limit_waits_total", Help: "Times a request waited for the fleet-wide rate limit or a CRM 429."},
			[]string{"connection"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmsync_job_duration_seconds", Help: "Duration of poll and push job steps.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12)}, []string{"connection", "job"}),
		PropagationLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmsync_propagation_lag_seconds", Help: "Time from a change's source timestamp to its write in another CRM.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12)}, []string{"source", "destination"}),
	}
	m.Registry.MustRegister(m.RecordsPulled, m.Writes, m.Errors, m.RateLimitWaits, m.JobDuration, m.PropagationLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// writeKinds are the kind label values of crmsync_writes_total.
var writeKinds = []string{"create", "update", "delete", "skip"}

// jobKinds are the job label values of crmsync_job_duration_seconds.
var jobKinds = []string{"poll", "push"}

// errorClasses lists every providers.Class name, in order.
func errorClasses() []string {
	var out []string
	for c := providers.Class(0); c.String() != ""; c++ {
		out = append(out, c.String())
	}
	return out
}

// Init creates every label set of the given connections at zero, so that
// each metric family is exported (with zero values) before anything was
// observed: dashboards and alerts see the series from the start, and a scrape
// shows every family crmsync has.
func (m *Metrics) Init(conns []string) {
	for _, c := range conns {
		m.RecordsPulled.WithLabelValues(c)
		m.RateLimitWaits.WithLabelValues(c)
		for _, k := range writeKinds {
			m.Writes.WithLabelValues(c, k)
		}
		for _, cl := range errorClasses() {
			m.Errors.WithLabelValues(c, cl)
		}
		for _, j := range jobKinds {
			m.JobDuration.WithLabelValues(c, j)
		}
		for _, src := range conns {
			if src != c {
				m.PropagationLag.WithLabelValues(src, c)
			}
		}
	}
}

// ObservePoll records one poll.
func (m *Metrics) ObservePoll(conn string, st engine.PollStats, d time.Duration, err error) {
	m.RecordsPulled.WithLabelValues(conn).Add(float64(st.Records))
	m.JobDuration.WithLabelValues(conn, "poll").Observe(d.Seconds())
	if err != nil {
		m.Errors.WithLabelValues(conn, providers.ClassOf(err).String()).Inc()
	}
}

// ObservePush records one push batch.
func (m *Metrics) ObservePush(conn string, st engine.PushStats, d time.Duration, err error) {
	m.JobDuration.WithLabelValues(conn, "push").Observe(d.Seconds())
	m.Writes.WithLabelValues(conn, "create").Add(float64(st.Creates))
	m.Writes.WithLabelValues(conn, "update").Add(float64(st.Updates))
	m.Writes.WithLabelValues(conn, "delete").Add(float64(st.Deletes))
	m.Writes.WithLabelValues(conn, "skip").Add(float64(st.Skips))
	if st.RetryAfter > 0 {
		m.RateLimitWaits.WithLabelValues(conn).Inc()
		m.Errors.WithLabelValues(conn, providers.ClassRateLimited.String()).Inc()
	}
	if st.Retryable != nil {
		m.Errors.WithLabelValues(conn, providers.ClassRetryable.String()).Inc()
	}
	if st.Failures > 0 {
		m.Errors.WithLabelValues(conn, providers.ClassPermanent.String()).Add(float64(st.Failures))
	}
	if err != nil {
		m.Errors.WithLabelValues(conn, providers.ClassOf(err).String()).Inc()
	}
	for _, lag := range st.Lags {
		m.PropagationLag.WithLabelValues(lag.Source, conn).Observe(lag.Seconds)
	}
}
