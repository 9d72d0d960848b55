package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/crmsync/crmsync/mapping"
)

// personColOIDs are the types of personCols, in order.
var personColOIDs = [...]uint32{
	pgtype.Int8OID,                 // id
	pgtype.TextOID, pgtype.TextOID, // first_name, last_name
	pgtype.TextArrayOID, pgtype.TextArrayOID, // emails, phones
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // linkedin_url … facebook
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // instagram … pipeline_stage
	pgtype.Int4OID, pgtype.TextOID, // lead_score, owner
	pgtype.Int2ArrayOID, pgtype.TimestamptzArrayOID, // prov_conn, prov_at
	pgtype.Int8OID, // version
}

// errNotBinary says a row is not in the shape decodePerson reads.
var errNotBinary = errors.New("not a binary person row")

// scanPerson scans a row of personCols, then the extra columns selected
// after them into extra (*bool, *time.Time or *int64).
//
// It decodes the binary row by hand: pgx's scan of the arrays (emails,
// phones and the 18 provenance pairs) allocated per element, and people are
// read by the hundred thousand (the push, the resync's planning, the
// ingest under its lock). A row in another shape (text format, another
// extra) is scanned by pgx.
func scanPerson(rows pgx.Rows, extra ...any) (*PersonState, error) {
	st, err := decodePerson(rows.FieldDescriptions(), rows.RawValues(), extra)
	if errors.Is(err, errNotBinary) {
		return scanPersonPgx(rows, extra...)
	}
	return st, err
}

// scanPersonPgx is scanPerson through pgx's Scan.
func scanPersonPgx(row pgx.Row, extra ...any) (*PersonState, error) {
	st := &PersonState{}
	p := &st.Person
	var stage string
	var provConn []int16
	var provAt []time.Time
	err := row.Scan(append([]any{&st.ID, &p.FirstName, &p.LastName, &p.Emails, &p.Phones, &p.LinkedIn, &p.Company, &p.JobTitle,
		&p.Website, &p.Address, &p.Facebook, &p.Instagram, &p.Twitter, &p.Notes, &stage, &p.PipelineStage,
		&p.LeadScore, &p.Owner, &provConn, &provAt, &st.Version}, extra...)...)
	if err != nil {
		return nil, err
	}
	p.LeadStage = mapping.Stage(stage)
	if len(p.Emails) == 0 {
		p.Emails = nil
	}
	if len(p.Phones) == 0 {
		p.Phones = nil
	}
	st.Prov = make([]Prov, nFields)
	for i := 0; i < nFields && i < len(provConn) && i < len(provAt); i++ {
		st.Prov[i] = Prov{Conn: provConn[i], At: provAt[i]}
	}
	return st, nil
}

// decodePerson decodes a binary row of personCols and extra columns; it
// returns errNotBinary for a row in another shape.
func decodePerson(fds []pgconn.FieldDescription, vals [][]byte, extra []any) (*PersonState, error) {
	if len(fds) != len(personColOIDs)+len(extra) || len(vals) != len(fds) {
		return nil, errNotBinary
	}
	for i, fd := range fds {
		if i < len(personColOIDs) && fd.DataTypeOID != personColOIDs[i] {
			return nil, errNotBinary
		}
		// pgx asks for text in text format: the same bytes.
		if fd.Format != pgtype.BinaryFormatCode && fd.DataTypeOID != pgtype.TextOID {
			return nil, errNotBinary
		}
	}
	for i, x := range extra {
		oid := fds[len(personColOIDs)+i].DataTypeOID
		switch x.(type) {
		case *bool:
			if oid != pgtype.BoolOID {
				return nil, errNotBinary
			}
		case *time.Time:
			if oid != pgtype.TimestamptzOID {
				return nil, errNotBinary
			}
		case *int64:
			if oid != pgtype.Int8OID {
				return nil, errNotBinary
			}
		default:
			return nil, errNotBinary
		}
	}
	st := &PersonState{}
	p := &st.Person
	var err error
	get := func(i int) []byte {
		if err == nil && vals[i] == nil && i != 16 {
			err = fmt.Errorf("column %d is NULL", i)
		}
		return vals[i]
	}
	st.ID = int64(be64(get(0), &err))
	texts := []*string{&p.FirstName, &p.LastName, nil, nil, &p.LinkedIn, &p.Company, &p.JobTitle, &p.Website, &p.Address,
		&p.Facebook, &p.Instagram, &p.Twitter, &p.Notes, nil, &p.PipelineStage, nil, &p.Owner}
	for i, dst := range texts {
		if dst != nil {
			*dst = string(get(i + 1))
		}
	}
	p.LeadStage = mapping.Stage(get(14))
	if v := vals[16]; v != nil {
		if len(v) != 4 {
			return nil, fmt.Errorf("lead_score: %d bytes", len(v))
		}
		n := int(int32(binary.BigEndian.Uint32(v)))
		p.LeadScore = &n
	}
	p.Emails = decodeArray(get(3), &err, func(b []byte) string { return string(b) })
	p.Phones = decodeArray(get(4), &err, func(b []byte) string { return string(b) })
	conns := decodeArray(get(18), &err, func(b []byte) int16 {
		if len(b) != 2 {
			err = fmt.Errorf("prov_conn element: %d bytes", len(b))
			return 0
		}
		return int16(binary.BigEndian.Uint16(b))
	})
	ats := decodeArray(get(19), &err, func(b []byte) time.Time { return decodeTimestamptz(b, &err) })
	st.Version = int64(be64(get(20), &err))
	for i, x := range extra {
		v := vals[len(personColOIDs)+i]
		if v == nil {
			return nil, fmt.Errorf("extra column %d is NULL", i)
		}
		switch x := x.(type) {
		case *bool:
			*x = len(v) == 1 && v[0] != 0
		case *time.Time:
			*x = decodeTimestamptz(v, &err)
		case *int64:
			*x = int64(be64(v, &err))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decode person: %w", err)
	}
	st.Prov = make([]Prov, nFields)
	for i := 0; i < nFields && i < len(conns) && i < len(ats); i++ {
		st.Prov[i] = Prov{Conn: conns[i], At: ats[i]}
	}
	return st, nil
}

func be64(b []byte, err *error) uint64 {
	if len(b) != 8 {
		if *err == nil {
			*err = fmt.Errorf("8-byte value of %d bytes", len(b))
		}
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// decodeTimestamptz decodes a binary timestamptz as pgx does for a
// time.Time: microseconds since 2000-01-01 UTC, in the local zone.
func decodeTimestamptz(b []byte, err *error) time.Time {
	us := int64(be64(b, err))
	const unixOffset = 946684800 * 1000000 // 2000-01-01 in microseconds since 1970
	if us == 1<<63-1 || us == -1<<63 {
		if *err == nil {
			*err = errors.New("infinite timestamp")
		}
		return time.Time{}
	}
	us += unixOffset
	return time.Unix(us/1000000, (us%1000000)*1000)
}

// decodeArray decodes a one-dimensional binary array without NULLs, each
// element through elem; an empty array is nil.
func decodeArray[T any](b []byte, err *error, elem func([]byte) T) []T {
	if *err != nil || b == nil {
		return nil
	}
	fail := func(format string, args ...any) []T {
		if *err == nil {
			*err = fmt.Errorf("array: "+format, args...)
		}
		return nil
	}
	if len(b) < 12 {
		return fail("%d bytes", len(b))
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	if ndim == 0 {
		return nil
	}
	if ndim != 1 || len(b) < 20 {
		return fail("%d dimensions", ndim)
	}
	n := int(int32(binary.BigEndian.Uint32(b[12:])))
	b = b[20:]
	if n < 0 || n > len(b)/4 {
		return fail("%d elements in %d bytes", n, len(b))
	}
	out := make([]T, 0, n)
	for range n {
		if len(b) < 4 {
			return fail("short element")
		}
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 || int(l) > len(b) {
			return fail("element of length %d", l)
		}
		out = append(out, elem(b[:l]))
		b = b[l:]
	}
	return out
}
