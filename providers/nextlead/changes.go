package nextlead

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers"
)

// checkpointVersion is the version of the checkpoint encoding.
const checkpointVersion = 1

// frontier is how far a never-purged, oldest-first feed has been read: the
// newest timestamp seen and the keys of the items seen at exactly that
// timestamp. Its size is bounded by the items sharing one millisecond, not by
// the feed's length.
type frontier struct {
	T    time.Time `json:"t,omitzero"`
	Keys []string  `json:"k,omitempty"`
}

// seen reports whether the item (key, at) was read before this frontier.
func (f frontier) seen(key string, at time.Time) bool {
	if f.T.IsZero() {
		return false
	}
	if at.Before(f.T) {
		return true
	}
	return at.Equal(f.T) && slices.Contains(f.Keys, key)
}

// advance moves the frontier past item (key, at).
func (f *frontier) advance(key string, at time.Time) {
	switch {
	case at.After(f.T):
		f.T, f.Keys = at, []string{key}
	case at.Equal(f.T) && !slices.Contains(f.Keys, key):
		f.Keys = append(f.Keys, key)
	}
}

// checkpoint is the Changes checkpoint, JSON-encoded.
type checkpoint struct {
	V int `json:"v"`
	// Created keeps only the newest created_at seen (for counting new
	// contacts); its Keys stay empty.
	Created frontier `json:"created"`
	Edited  frontier `json:"edited"`
	Deleted frontier `json:"deleted"`
}

func decodeCheckpoint(b []byte) (checkpoint, error) {
	var cp checkpoint
	if len(b) == 0 {
		return cp, nil
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, fmt.Errorf("decode checkpoint: %w", err)
	}
	if cp.V != checkpointVersion {
		return checkpoint{}, fmt.Errorf("decode checkpoint: unknown version %d", cp.V)
	}
	return cp, nil
}

// Changes reads the three polling feeds. Every live contact of user-created
// is yielded as an upsert (it is the only listing NextLead has, and it holds
// current values, so ChangesResult.Complete is true); then the deletions of
// user-deleted not seen before the checkpoint are yielded. user-edited is
// read to advance its frontier and to log how many edits arrived. The
// checkpoint keeps, per feed, the newest timestamp seen and the keys seen at
// exactly that time (created by id, edited by id+updated_at, deleted by
// id+deleted_at). The listing also refreshes the adapter's memory of the
// LinkedIn strings of contacts without an email, and deleted contacts are
// forgotten.
func (a *Adapter) Changes(ctx context.Context, cpb []byte, yield func(providers.Change) error) (providers.ChangesResult, error) {
	cp, err := decodeCheckpoint(cpb)
	if err != nil {
		return providers.ChangesResult{}, &providers.Error{Class: providers.ClassPermanent, Op: "changes", Err: err}
	}
	next := checkpoint{V: checkpointVersion, Created: cp.Created, Edited: cp.Edited, Deleted: cp.Deleted}

	// 1. Upserts: every live contact, current values.
	var c nextleadmap.Contact
	created, upserts := 0, 0
	start := a.dir.beginListing()
	err = a.stream(ctx, routeCreated, func(dec *json.Decoder) error {
		if err := decodeContact(dec, &c); err != nil {
			return err
		}
		if c.ID == "" {
			return nil
		}
		a.dir.see(&c, nil)
		if at, err := nextleadmap.ParseTime(c.CreatedAt); err == nil {
			// Only the newest creation time is kept: a bulk import shares one
			// millisecond across any number of ids, and every live contact is
			// yielded anyway.
			if at.After(cp.Created.T) {
				created++
			}
			if at.After(next.Created.T) {
				next.Created.T = at
			}
		}
		upserts++
		if err := yield(providers.Change{Kind: providers.ChangeUpsert, Record: a.record(&c)}); err != nil {
			return yieldError{err}
		}
		return nil
	})
	if err != nil {
		return providers.ChangesResult{}, wrapFeed("changes: user-created", err)
	}
	a.dir.endListing(start)

	// 2. Edits: every edit since the checkpoint (their effect is already in
	// the upserts above).
	edits := 0
	var it nextleadmap.FeedItem
	err = a.stream(ctx, routeEdited, func(dec *json.Decoder) error {
		it = nextleadmap.FeedItem{}
		if err := dec.Decode(&it); err != nil {
			return fmt.Errorf("decode edit: %w", err)
		}
		at, err := nextleadmap.ParseTime(it.UpdatedAt)
		if err != nil || it.ID == "" {
			return nil
		}
		if !cp.Edited.seen(it.ID, at) {
			edits++
		}
		next.Edited.advance(it.ID, at)
		return nil
	})
	if err != nil {
		return providers.ChangesResult{}, wrapFeed("changes: user-edited", err)
	}

	// 3. Deletions not seen before.
	deletes := 0
	err = a.stream(ctx, routeDeleted, func(dec *json.Decoder) error {
		it = nextleadmap.FeedItem{}
		if err := dec.Decode(&it); err != nil {
			return fmt.Errorf("decode deletion: %w", err)
		}
		if it.ID == "" {
			return nil
		}
		at, perr := nextleadmap.ParseTime(it.DeletedAt)
		if perr == nil {
			if cp.Deleted.seen(it.ID, at) {
				return nil
			}
			next.Deleted.advance(it.ID, at)
		}
		deletes++
		a.dir.forget(it.ID)
		rec := providers.Record{ID: it.ID}
		if perr == nil {
			rec.ChangedAt = at
		}
		if err := yield(providers.Change{Kind: providers.ChangeDelete, Record: rec}); err != nil {
			return yieldError{err}
		}
		return nil
	})
	if err != nil {
		return providers.ChangesResult{}, wrapFeed("changes: user-deleted", err)
	}

	a.log.DebugContext(ctx, "nextlead changes read", "upserts", upserts, "new_contacts", created,
		"new_edits", edits, "new_deletions", deletes)
	b, err := json.Marshal(next)
	if err != nil {
		return providers.ChangesResult{}, &providers.Error{Class: providers.ClassPermanent, Op: "changes", Err: err}
	}
	return providers.ChangesResult{Checkpoint: b, Complete: true}, nil
}

// wrapFeed adds context to a feed error, leaving an error of the caller's
// yield as it is.
func wrapFeed(what string, err error) error {
	if _, ok := err.(*providers.Error); ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}
