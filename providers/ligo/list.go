package ligo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/crmsync/crmsync/mapping/ligomap"
	"github.com/crmsync/crmsync/providers"
)

const opList = "GET /api/contacts"

// List streams every live contact once, page by page in Ligo's order
// (creation order), following hydra:next. Only one page is held at a time;
// IDs already yielded are remembered (16 bytes each) so that a contact seen
// on two pages, as a listing that shifts while it is read can show, is
// yielded once. An error ends the sequence.
func (a *Adapter) List(ctx context.Context) iter.Seq2[providers.Record, error] {
	return func(yield func(providers.Record, error) bool) {
		stopped := errors.New("stopped")
		err := a.each(ctx, func(c ligomap.Contact) error {
			if !yield(a.record(c), nil) {
				return stopped
			}
			return nil
		})
		if err != nil && err != stopped {
			yield(providers.Record{}, err)
		}
	}
}

// Changes lists every live contact (Ligo has no change feed) as upserts,
// with ChangedAt = updatedAt, and answers Complete: a linked contact not
// yielded was deleted. The checkpoint is the latest updatedAt seen, for
// information only: the whole list is read every time, whatever the
// checkpoint, since the engine diffs content.
func (a *Adapter) Changes(ctx context.Context, checkpoint []byte, yield func(providers.Change) error) (providers.ChangesResult, error) {
	var latest time.Time
	err := a.each(ctx, func(c ligomap.Contact) error {
		rec := a.record(c)
		if rec.ChangedAt.After(latest) {
			latest = rec.ChangedAt
		}
		return yield(providers.Change{Kind: providers.ChangeUpsert, Record: rec})
	})
	if err != nil {
		return providers.ChangesResult{}, err
	}
	res := providers.ChangesResult{Checkpoint: checkpoint, Complete: true}
	if !latest.IsZero() {
		res.Checkpoint = []byte(latest.UTC().Format(time.RFC3339Nano))
	}
	return res, nil
}

// each calls fn for every live contact, once per ID, page by page. An error
// from fn stops the listing and is returned as it is.
func (a *Adapter) each(ctx context.Context, fn func(ligomap.Contact) error) error {
	seen := newIDSet()
	target := "/api/contacts?page=1"
	var batch []ligomap.Contact
	for target != "" {
		resp, cancel, err := a.request(ctx, opList, http.MethodGet, target, nil, "")
		if err != nil {
			return err
		}
		batch = batch[:0]
		next, err := decodePage(resp.Body, func(c ligomap.Contact) error {
			batch = append(batch, c)
			return nil
		})
		resp.Body.Close()
		cancel()
		if err != nil {
			return decodeError(ctx, opList, err)
		}
		for _, c := range batch {
			if !seen.add(c.ID) {
				continue
			}
			if err := fn(c); err != nil {
				return err
			}
		}
		nextTarget, err := resolveNext(next)
		if err != nil {
			return &providers.Error{Class: providers.ClassPermanent, Op: opList, Err: err}
		}
		if nextTarget == target || len(batch) == 0 {
			break // a page pointing at itself or an empty page ends the listing
		}
		target = nextTarget
	}
	return nil
}

// resolveNext turns a hydra:next link into a path under the base URL. An
// absolute link keeps only its path and query, so the token is never sent to
// another host.
func resolveNext(next string) (string, error) {
	if next == "" {
		return "", nil
	}
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("bad hydra:next %q: %w", next, err)
	}
	return u.RequestURI(), nil
}

// decodePage reads one Hydra collection page token by token, calling member
// for each contact of hydra:member, and returns hydra:next ("" on the last
// page). Both the "hydra:"-prefixed keys and API Platform 4's bare keys are
// read, and a bare JSON array is taken as a single, last page.
func decodePage[T any](r io.Reader, member func(T) error) (next string, err error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('['):
		return "", decodeMembers(dec, member)
	case json.Delim('{'):
	default:
		return "", fmt.Errorf("collection: want an object, got %v", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		key, _ := tok.(string)
		switch key {
		case "hydra:member", "member":
			t, err := dec.Token()
			if err != nil {
				return "", err
			}
			if t == nil { // null member list
				continue
			}
			if t != json.Delim('[') {
				return "", fmt.Errorf("%s: want an array, got %v", key, t)
			}
			if err := decodeMembers(dec, member); err != nil {
				return "", err
			}
		case "hydra:view", "view":
			var v struct {
				HydraNext string `json:"hydra:next"`
				Next      string `json:"next"`
			}
			if err := dec.Decode(&v); err != nil {
				return "", fmt.Errorf("%s: %w", key, err)
			}
			next = v.HydraNext
			if next == "" {
				next = v.Next
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", err
	}
	return next, nil
}

// decodeMembers decodes array elements up to and including the closing
// bracket.
func decodeMembers[T any](dec *json.Decoder, member func(T) error) error {
	for dec.More() {
		var c T
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("member: %w", err)
		}
		if err := member(c); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// idSet remembers IDs compactly: UUIDs as 16 bytes, anything else as text.
type idSet struct {
	uuids map[[16]byte]struct{}
	other map[string]struct{}
}

func newIDSet() *idSet {
	return &idSet{uuids: map[[16]byte]struct{}{}, other: map[string]struct{}{}}
}

// add records id and reports whether it was new.
func (s *idSet) add(id string) bool {
	if u, err := uuid.Parse(id); err == nil && len(id) == 36 {
		if _, ok := s.uuids[u]; ok {
			return false
		}
		s.uuids[u] = struct{}{}
		return true
	}
	if _, ok := s.other[id]; ok {
		return false
	}
	s.other[id] = struct{}{}
	return true
}

// decodeStatePage reads one page of pipeline states.
func decodeStatePage(r io.Reader, item func(ligomap.PipelineStateItem)) (string, error) {
	return decodePage(r, func(s ligomap.PipelineStateItem) error {
		item(s)
		return nil
	})
}
