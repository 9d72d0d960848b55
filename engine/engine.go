package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/providers"
)

// ingestLockKey serializes ingest fleet-wide (transaction advisory lock), so
// that two workers never create the same person twice.
const ingestLockKey int64 = 0x63726d7369676e31

// Conn is one configured connection with its adapter.
type Conn struct {
	ID       int16
	Config   config.Connection
	Provider providers.Provider
	Caps     providers.Capabilities
}

// Name is the connection's name.
func (c *Conn) Name() string { return c.Config.Name }

// Writable reports whether crmsync can create records in this CRM.
func (c *Conn) Writable() bool { return c.Caps.Creates != 0 }

// Engine runs ingest, planning and pushes on one database.
type Engine struct {
	pool   *pgxpool.Pool
	conns  []*Conn
	byName map[string]*Conn
	byID   map[int16]*Conn
	logger *slog.Logger
	merger Merger
	// Now returns the observation time; tests may replace it.
	Now func() time.Time
	// PushConcurrency is how many CRM calls a push batch runs at once.
	PushConcurrency int
	// BatchSize is how many records an ingest batch or push batch holds.
	BatchSize int
	// ListBatchSize is how many records of a resync's listing are ingested
	// at a time (grouped with the other listings' batches; see
	// ingestGroup). Larger than BatchSize: a resync's ingest is bound by
	// the fleet-wide lock, and fewer, larger transactions hold it for less
	// time in all.
	ListBatchSize int
	// seen skips records unchanged since this process last ingested them.
	seen *seenCache
	// group ingests the resync listings' batches together.
	group ingestGroup
	// pushSlots bounds the push batches running at once in this process
	// (see pushSlotsFor).
	pushSlots chan struct{}
}

// pushSlotsFor is how many push batches may run at once on a pool of
// maxConns connections. A batch holds a connection (its transaction, whose
// row locks are its claim) while it needs another for a moment (it marks
// its creates pending, committed before the CRM is called): with as many
// batches as connections, every batch would wait for a connection another
// holds. Four connections stay for those moments.
func pushSlotsFor(maxConns int32) int {
	return max(1, int(maxConns)-4)
}

// New registers the connections in the database and returns an engine.
func New(ctx context.Context, pool *pgxpool.Pool, conns []*Conn, logger *slog.Logger) (*Engine, error) {
	if logger == nil {
		logger = slog.Default()
	}
	e := &Engine{pool: pool, conns: conns, byName: map[string]*Conn{}, byID: map[int16]*Conn{},
		logger: logger, Now: time.Now, PushConcurrency: 16, BatchSize: 500, ListBatchSize: 2000, seen: newSeenCache(),
		pushSlots: make(chan struct{}, pushSlotsFor(pool.Config().MaxConns))}
	for _, c := range conns {
		c.Caps = c.Provider.Capabilities()
		err := pool.QueryRow(ctx, `INSERT INTO crmsync_connection (name, provider) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET provider = EXCLUDED.provider RETURNING id`,
			c.Config.Name, c.Config.Provider).Scan(&c.ID)
		if err != nil {
			return nil, fmt.Errorf("register connection %s: %w", c.Config.Name, err)
		}
		e.byName[c.Config.Name] = c
		e.byID[c.ID] = c
	}
	e.merger = Merger{Priority: func(id int16) int {
		if c, ok := e.byID[id]; ok {
			return c.Config.Priority
		}
		return 0
	}}
	return e, nil
}

// Conns returns the engine's connections.
func (e *Engine) Conns() []*Conn { return e.conns }

// Conn returns the connection named name.
func (e *Engine) Conn(name string) (*Conn, bool) {
	c, ok := e.byName[name]
	return c, ok
}

// Pool returns the engine's database pool.
func (e *Engine) Pool() *pgxpool.Pool { return e.pool }

const personCols = `id, coalesce(first_name,''), coalesce(last_name,''), emails, phones, coalesce(linkedin_url,''),
	coalesce(company,''), coalesce(job_title,''), coalesce(website,''), coalesce(address,''), coalesce(facebook,''),
	coalesce(instagram,''), coalesce(twitter,''), coalesce(notes,''), coalesce(lead_stage,''), coalesce(pipeline_stage,''),
	lead_score, coalesce(owner,''), prov_conn, prov_at, version`

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// personArgs returns the column values of st in personCols order (without
// id and version).
func personArgs(st *PersonState) []any {
	p := &st.Person
	conns := make([]int16, nFields)
	ats := make([]time.Time, nFields)
	for i, pv := range st.Prov {
		conns[i] = pv.Conn
		ats[i] = pv.At
	}
	emails, phones := p.Emails, p.Phones
	if emails == nil {
		emails = []string{}
	}
	if phones == nil {
		phones = []string{}
	}
	return []any{nullable(p.FirstName), nullable(p.LastName), emails, phones, nullable(p.LinkedIn),
		nullable(p.Company), nullable(p.JobTitle), nullable(p.Website), nullable(p.Address), nullable(p.Facebook),
		nullable(p.Instagram), nullable(p.Twitter), nullable(p.Notes), nullable(string(p.LeadStage)),
		nullable(p.PipelineStage), p.LeadScore, nullable(p.Owner), conns, ats}
}

// personUpdates collects the changed people of an ingest batch, written
// as one UPDATE instead of one statement a person. A parameter cannot carry
// an array per row (unnest flattens arrays of arrays), so the list columns
// travel as array literals, one per person.
type personUpdates struct {
	ids                              []int64
	texts                            [14][]*string
	emails, phones, provConn, provAt []string
	scores                           []*int32
}

// add adds st's values.
func (u *personUpdates) add(st *PersonState) {
	p := &st.Person
	u.ids = append(u.ids, st.ID)
	for i, v := range []string{p.FirstName, p.LastName, p.LinkedIn, p.Company, p.JobTitle, p.Website, p.Address,
		p.Facebook, p.Instagram, p.Twitter, p.Notes, string(p.LeadStage), p.PipelineStage, p.Owner} {
		var ptr *string
		if v != "" {
			ptr = &v
		}
		u.texts[i] = append(u.texts[i], ptr)
	}
	u.emails = append(u.emails, arrayLiteral(p.Emails, pgQuote))
	u.phones = append(u.phones, arrayLiteral(p.Phones, pgQuote))
	var score *int32
	if p.LeadScore != nil {
		v := int32(*p.LeadScore)
		score = &v
	}
	u.scores = append(u.scores, score)
	conns, ats := provLiterals(st.Prov)
	u.provConn = append(u.provConn, conns)
	u.provAt = append(u.provAt, ats)
}

// provLiterals returns the array literals of a person's provenance: its
// nFields connection IDs, and its times in UTC to the microsecond, each
// quoted, as time.Format("2006-01-02 15:04:05.999999-07") writes them. A
// batch of updates writes 18 of each per person, and time.Format was most
// of the cost.
func provLiterals(prov []Prov) (conns, ats string) {
	cb := make([]byte, 0, 4*nFields)
	tb := make([]byte, 0, 30*nFields)
	cb, tb = append(cb, '{'), append(tb, '{')
	for i := range nFields {
		var pv Prov
		if i < len(prov) {
			pv = prov[i]
		}
		if i > 0 {
			cb, tb = append(cb, ','), append(tb, ',')
		}
		cb = strconv.AppendInt(cb, int64(pv.Conn), 10)
		tb = append(tb, '"')
		tb = appendPGTime(tb, pv.At.UTC())
		tb = append(tb, '"')
	}
	return string(append(cb, '}')), string(append(tb, '}'))
}

// appendPGTime appends t (in UTC) as time.Format("2006-01-02
// 15:04:05.999999-07") does: the fraction to the microsecond without its
// trailing zeros, and the offset "+00".
func appendPGTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	pad := func(b []byte, v, width int) []byte {
		var d [4]byte
		for i := width - 1; i >= 0; i-- {
			d[i] = byte('0' + v%10)
			v /= 10
		}
		return append(b, d[:width]...)
	}
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02 15:04:05.999999-07")
	}
	b = pad(b, year, 4)
	b = append(b, '-')
	b = pad(b, int(month), 2)
	b = append(b, '-')
	b = pad(b, day, 2)
	b = append(b, ' ')
	b = pad(b, hour, 2)
	b = append(b, ':')
	b = pad(b, minute, 2)
	b = append(b, ':')
	b = pad(b, sec, 2)
	if us := t.Nanosecond() / 1000; us > 0 {
		var f [6]byte
		for i := 5; i >= 0; i-- {
			f[i] = byte('0' + us%10)
			us /= 10
		}
		n := 6
		for n > 0 && f[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, f[:n]...)
	}
	return append(b, "+00"...)
}

// queue adds the UPDATE to b, when there is anyone to update.
func (u *personUpdates) queue(b *pgx.Batch) {
	if len(u.ids) == 0 {
		return
	}
	args := []any{u.ids}
	for _, col := range u.texts {
		args = append(args, col)
	}
	args = append(args, u.emails, u.phones, u.scores, u.provConn, u.provAt)
	b.Queue(`UPDATE crmsync_person p SET first_name = x.fn, last_name = x.ln, emails = x.em::text[], phones = x.ph::text[],
		linkedin_url = x.li, company = x.co, job_title = x.jt, website = x.ws, address = x.ad, facebook = x.fb,
		instagram = x.ig, twitter = x.tw, notes = x.nt, lead_stage = x.ls, pipeline_stage = x.ps, lead_score = x.sc,
		owner = x.ow, prov_conn = x.pc::smallint[], prov_at = x.pa::timestamptz[], version = p.version + 1, updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
			$16::text[], $17::text[], $18::integer[], $19::text[], $20::text[])
			AS x(id, fn, ln, li, co, jt, ws, ad, fb, ig, tw, nt, ls, ps, ow, em, ph, sc, pc, pa)
		WHERE p.id = x.id`, args...)
}

// arrayLiteral writes elems as a Postgres array literal, each element
// through quote (nil: as it is).
func arrayLiteral(elems []string, quote func(string) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		if quote != nil {
			e = quote(e)
		}
		b.WriteString(e)
	}
	b.WriteByte('}')
	return b.String()
}

// pgQuote double-quotes s for an array literal: backslashes and double
// quotes escaped with a backslash, everything else as it is.
func pgQuote(s string) string {
	return `"` + arrayEscaper.Replace(s) + `"`
}

// arrayEscaper escapes an array literal's quoted element (a
// strings.Replacer holds no state and is safe for concurrent use).
var arrayEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// loadPeople reads live people by id.
func loadPeople(ctx context.Context, q pgx.Tx, ids []int64) (map[int64]*PersonState, error) {
	out := make(map[int64]*PersonState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT "+personCols+", created_at FROM crmsync_person WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, fmt.Errorf("load people: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var created time.Time
		st, err := scanPerson(rows, &created)
		if err != nil {
			return nil, fmt.Errorf("scan person: %w", err)
		}
		st.Created = created
		out[st.ID] = st
	}
	return out, rows.Err()
}

// dbNow reads the database's clock: listing start times are compared with
// link times written by the database, so both come from one clock.
func (e *Engine) dbNow(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := e.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
		return t, fmt.Errorf("read database clock: %w", err)
	}
	return t, nil
}
