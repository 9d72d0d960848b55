package epixel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/crmsync/crmsync/mapping/epixelmap"
)

// errStop is returned by scan when the consumer stopped early.
var errStop = errors.New("epixel: listing stopped by the consumer")

// pageInfo is what a list page says about the listing.
type pageInfo struct {
	count      int
	hasCount   bool
	next       bool // a next link is present and not null
	nextKey    bool // the answer has a "next" key at all
	results    int
	resultsKey bool
}

// flushAt bounds how many decoded leads are held before they are handed
// over: a page answers at most 100, but a server ignoring limit cannot make
// the adapter hold more than this.
const flushAt = 2 * pageLimit

// scan pages through GET /leads/list/ (with filter) and calls fn for each
// lead once. Pages are newest first, so a lead created while scanning shifts
// later pages and shows again: leads already seen on the previous or current
// page are skipped. fn returning false stops the scan with errStop.
func (a *Adapter) scan(ctx context.Context, filter url.Values, fn func(epixelmap.Lead) bool) error {
	prev, cur := map[string]struct{}{}, map[string]struct{}{}
	buf := make([]epixelmap.Lead, 0, pageLimit)
	flush := func() bool {
		for _, l := range buf {
			if !fn(l) {
				return false
			}
		}
		clear(buf)
		buf = buf[:0]
		return true
	}
	offset := 0
	for {
		q := url.Values{}
		for k, v := range filter {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(pageLimit))
		q.Set("offset", strconv.Itoa(offset))
		req := &request{method: http.MethodGet, route: "/leads/list/", query: q, auth: true}
		resp, cancel, err := a.do(ctx, req)
		if err != nil {
			return err
		}
		stopped := false
		info, err := decodePage(resp.Body, func(l epixelmap.Lead) error {
			if _, seen := prev[l.Slug]; seen && l.Slug != "" {
				return nil
			}
			if _, seen := cur[l.Slug]; seen && l.Slug != "" {
				return nil
			}
			cur[l.Slug] = struct{}{}
			buf = append(buf, l)
			if len(buf) >= flushAt && !flush() {
				stopped = true
				return errStop
			}
			return nil
		})
		drainClose(resp.Body)
		cancel()
		if stopped {
			return errStop
		}
		if err != nil {
			return a.decodeError(ctx, req.op(), err)
		}
		if !flush() {
			return errStop
		}
		offset += info.results
		more := info.next
		if !info.nextKey {
			more = info.hasCount && offset < info.count
		}
		if !more || info.results == 0 {
			return nil
		}
		prev, cur = cur, prev
		clear(cur)
	}
}

// decodePage reads one list answer token by token, calling fn for each lead
// of data.results as it is decoded; unknown keys are skipped.
func decodePage(r io.Reader, fn func(epixelmap.Lead) error) (pageInfo, error) {
	var info pageInfo
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return info, err
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return info, err
		}
		if key != "data" {
			if err := skipValue(dec); err != nil {
				return info, err
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			return info, err
		}
		switch tok {
		case json.Delim('{'):
			if err := decodeData(dec, &info, fn); err != nil {
				return info, err
			}
		case json.Delim('['):
			// Tolerate a bare list of leads as data.
			info.resultsKey = true
			if err := decodeResults(dec, &info, fn); err != nil {
				return info, err
			}
		default:
			// null or a scalar: no leads.
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return info, err
	}
	return info, nil
}

func decodeData(dec *json.Decoder, info *pageInfo, fn func(epixelmap.Lead) error) error {
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return err
		}
		switch key {
		case "count":
			var n *int
			if err := dec.Decode(&n); err != nil {
				return fmt.Errorf("decode count: %w", err)
			}
			if n != nil {
				info.count, info.hasCount = *n, true
			}
		case "next":
			var next *string
			if err := dec.Decode(&next); err != nil {
				return fmt.Errorf("decode next: %w", err)
			}
			info.nextKey = true
			info.next = next != nil && *next != ""
		case "results":
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if tok == nil {
				continue
			}
			if tok != json.Delim('[') {
				return fmt.Errorf("results: want an array, got %v", tok)
			}
			info.resultsKey = true
			if err := decodeResults(dec, info, fn); err != nil {
				return err
			}
		default:
			if err := skipValue(dec); err != nil {
				return err
			}
		}
	}
	return expectDelim(dec, '}')
}

// decodeResults decodes leads up to the closing bracket of an array whose
// opening bracket was read.
func decodeResults(dec *json.Decoder, info *pageInfo, fn func(epixelmap.Lead) error) error {
	for dec.More() {
		var l epixelmap.Lead
		if err := dec.Decode(&l); err != nil {
			return fmt.Errorf("decode lead %d: %w", info.results, err)
		}
		info.results++
		if err := fn(l); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return k, nil
}

// skipValue reads and drops one value without building it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// drainClose reads what is left of a small answer (so the connection can be
// reused) and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
