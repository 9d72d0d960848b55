package engine

import (
	"context"
	"fmt"
	"time"
)

// Status is what the fleet is doing, for `crmsync status` and the
// sync-health page.
type Status struct {
	Connections    []ConnStatus  `json:"connections"`
	People         int64         `json:"people"`
	Merges         int64         `json:"merges"`
	LastRun        *Run          `json:"last_run,omitempty"`
	RecentMerges   []MergeInfo   `json:"recent_merges"`
	RecentChanges  []ChangeInfo  `json:"recent_changes"`
	RecentOutcomes []OutcomeInfo `json:"recent_outcomes"`
}

// ConnStatus is one connection's state.
type ConnStatus struct {
	Name          string           `json:"name"`
	Provider      string           `json:"provider"`
	Linked        int64            `json:"linked_records"`
	LastPollOK    *time.Time       `json:"last_successful_poll,omitempty"`
	LagSeconds    *float64         `json:"poll_lag_seconds,omitempty"`
	LastError     string           `json:"last_error,omitempty"`
	Queued        int64            `json:"push_queue"`
	JobsAvailable int64            `json:"jobs_queued"`
	JobsRunning   int64            `json:"jobs_running"`
	Writes        map[string]int64 `json:"writes"`
	Skips         map[string]int64 `json:"skips_by_reason"`
	Failures      map[string]int64 `json:"failures_by_reason"`
}

// MergeInfo is one merge.
type MergeInfo struct {
	Survivor int64     `json:"survivor"`
	Merged   int64     `json:"merged"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// ChangeInfo is one applied field change.
type ChangeInfo struct {
	PersonID   int64     `json:"person_id"`
	Field      string    `json:"field"`
	Old        string    `json:"old"`
	New        string    `json:"new"`
	Connection string    `json:"source"`
	At         time.Time `json:"at"`
}

// OutcomeInfo is one skipped or failed write.
type OutcomeInfo struct {
	Connection string    `json:"connection"`
	PersonID   int64     `json:"person_id"`
	Kind       string    `json:"kind"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason"`
	Count      int       `json:"count"`
	At         time.Time `json:"at"`
}

// reasonKey groups skip reasons: the text before the first colon-free
// detail, so per-person messages still group.
func reasonKey(r string) string {
	if len(r) > 120 {
		r = r[:120]
	}
	return r
}

// Status reads the fleet's status.
func (e *Engine) Status(ctx context.Context) (*Status, error) {
	s := &Status{}
	for _, c := range e.conns {
		cs := ConnStatus{Name: c.Name(), Provider: c.Config.Provider, Writes: map[string]int64{},
			Skips: map[string]int64{}, Failures: map[string]int64{}}
		q := e.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM crmsync_link WHERE connection_id = $1 AND deleted_at IS NULL),
			(SELECT last_poll_ok_at FROM crmsync_sync_state WHERE connection_id = $1),
			(SELECT coalesce(last_error, '') FROM crmsync_sync_state WHERE connection_id = $1),
			(SELECT count(*) FROM crmsync_push_queue WHERE connection_id = $1),
			(SELECT count(*) FROM river_job WHERE queue = $2 AND state IN ('available', 'scheduled', 'retryable', 'pending')),
			(SELECT count(*) FROM river_job WHERE queue = $2 AND state = 'running')`, c.ID, "conn_"+c.Name())
		var lastErr *string
		if err := q.Scan(&cs.Linked, &cs.LastPollOK, &lastErr, &cs.Queued, &cs.JobsAvailable, &cs.JobsRunning); err != nil {
			return nil, fmt.Errorf("status %s: %w", c.Name(), err)
		}
		if lastErr != nil {
			cs.LastError = *lastErr
		}
		if cs.LastPollOK != nil {
			lag := time.Since(*cs.LastPollOK).Seconds()
			cs.LagSeconds = &lag
		}
		rows, err := e.pool.Query(ctx, `SELECT kind, count FROM crmsync_write_count WHERE connection_id = $1`, c.ID)
		if err != nil {
			return nil, fmt.Errorf("status %s: %w", c.Name(), err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, err
			}
			cs.Writes[k] = n
		}
		rows.Close()
		rows, err = e.pool.Query(ctx, `SELECT outcome, reason, count(*) FROM crmsync_write_outcome WHERE connection_id = $1 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 50`, c.ID)
		if err != nil {
			return nil, fmt.Errorf("status %s: %w", c.Name(), err)
		}
		for rows.Next() {
			var o, r string
			var n int64
			if err := rows.Scan(&o, &r, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if o == "skipped" {
				cs.Skips[reasonKey(r)] += n
			} else {
				cs.Failures[reasonKey(r)] += n
			}
		}
		rows.Close()
		s.Connections = append(s.Connections, cs)
	}
	if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM crmsync_person WHERE merged_into IS NULL AND deleted_at IS NULL),
		(SELECT count(*) FROM crmsync_merge)`).Scan(&s.People, &s.Merges); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	run, err := e.GetRun(ctx, 0)
	if err != nil {
		return nil, err
	}
	s.LastRun = run
	rows, err := e.pool.Query(ctx, `SELECT survivor, merged, reason, created_at FROM crmsync_merge ORDER BY id DESC LIMIT 20`)
	if err != nil {
		return nil, fmt.Errorf("status: merges: %w", err)
	}
	for rows.Next() {
		var m MergeInfo
		if err := rows.Scan(&m.Survivor, &m.Merged, &m.Reason, &m.At); err != nil {
			rows.Close()
			return nil, err
		}
		s.RecentMerges = append(s.RecentMerges, m)
	}
	rows.Close()
	rows, err = e.pool.Query(ctx, `SELECT ch.person_id, ch.field, coalesce(ch.old_value, ''), coalesce(ch.new_value, ''), coalesce(c.name, ''), ch.created_at
		FROM crmsync_change ch LEFT JOIN crmsync_connection c ON c.id = ch.connection_id ORDER BY ch.id DESC LIMIT 30`)
	if err != nil {
		return nil, fmt.Errorf("status: changes: %w", err)
	}
	for rows.Next() {
		var ci ChangeInfo
		if err := rows.Scan(&ci.PersonID, &ci.Field, &ci.Old, &ci.New, &ci.Connection, &ci.At); err != nil {
			rows.Close()
			return nil, err
		}
		s.RecentChanges = append(s.RecentChanges, ci)
	}
	rows.Close()
	rows, err = e.pool.Query(ctx, `SELECT c.name, o.person_id, o.kind, o.outcome, o.reason, o.count, o.last_at
		FROM crmsync_write_outcome o JOIN crmsync_connection c ON c.id = o.connection_id ORDER BY o.last_at DESC LIMIT 30`)
	if err != nil {
		return nil, fmt.Errorf("status: outcomes: %w", err)
	}
	for rows.Next() {
		var oi OutcomeInfo
		if err := rows.Scan(&oi.Connection, &oi.PersonID, &oi.Kind, &oi.Outcome, &oi.Reason, &oi.Count, &oi.At); err != nil {
			rows.Close()
			return nil, err
		}
		s.RecentOutcomes = append(s.RecentOutcomes, oi)
	}
	rows.Close()
	return s, nil
}
