package nextlead

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers"
)

// find calls find-contact and returns the contacts found (a {"found":false}
// item or an empty list is no match).
func (a *Adapter) find(ctx context.Context, q nextleadmap.FindContact) ([]nextleadmap.Contact, error) {
	var items listOrOne
	if err := a.call(ctx, http.MethodPost, routeFind, q, &items); err != nil {
		return nil, err
	}
	out := items[:0]
	for _, c := range items {
		if (c.Found != nil && !*c.Found) || c.ID == "" {
			continue
		}
		a.dir.learn(&c)
		out = append(out, c)
	}
	return out, nil
}

// findID calls find-contact with q and returns contact id among the
// answers.
func (a *Adapter) findID(ctx context.Context, id string, q nextleadmap.FindContact) (nextleadmap.Contact, bool, error) {
	found, err := a.find(ctx, q)
	if err != nil {
		return nextleadmap.Contact{}, false, err
	}
	for _, c := range found {
		if c.ID == id {
			return c, true, nil
		}
	}
	return nextleadmap.Contact{}, false, nil
}

// listOrOne decodes a list of contacts, tolerating a single object.
type listOrOne []nextleadmap.Contact

func (l *listOrOne) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one nextleadmap.Contact
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = listOrOne{one}
		return nil
	}
	var many []nextleadmap.Contact
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// FindByEmail returns the live contacts whose email is email.
func (a *Adapter) FindByEmail(ctx context.Context, email string) ([]providers.Record, error) {
	found, err := a.find(ctx, nextleadmap.FindContact{Email: email})
	if err != nil {
		return nil, fmt.Errorf("find by email: %w", err)
	}
	out := make([]providers.Record, 0, len(found))
	for i := range found {
		out = append(out, a.record(&found[i]))
	}
	return out, nil
}

// FindByLinkedIn returns the live contacts whose LinkedIn URL is url
// (canonical). NextLead compares the stored string exactly, so the common
// spellings of the URL are tried in turn (nextleadmap.LinkedInSpellings),
// then the strings stored by the contacts without an email that the adapter
// has seen in a listing or an answer under another spelling of the same URL.
// A contact stored under an odd spelling since the adapter's last listing is
// not found.
func (a *Adapter) FindByLinkedIn(ctx context.Context, url string) ([]providers.Record, error) {
	found, err := a.findLinkedIn(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("find by linkedin: %w", err)
	}
	out := make([]providers.Record, 0, len(found))
	for i := range found {
		out = append(out, a.record(&found[i]))
	}
	return out, nil
}

func (a *Adapter) findLinkedIn(ctx context.Context, url string) ([]nextleadmap.Contact, error) {
	want, err := mapping.NormalizeLinkedIn(url)
	if err != nil {
		want = url
	}
	try := func(sp string) ([]nextleadmap.Contact, error) {
		found, err := a.find(ctx, nextleadmap.FindContact{LinkedInURL: sp})
		if err != nil {
			return nil, err
		}
		out := found[:0]
		for _, c := range found {
			if got, err := mapping.NormalizeLinkedIn(c.LinkedIn); err == nil && got == want || c.LinkedIn == sp {
				out = append(out, c)
			}
		}
		return out, nil
	}
	spellings := nextleadmap.LinkedInSpellings(url)
	for _, sp := range spellings {
		if out, err := try(sp); err != nil || len(out) > 0 {
			return out, err
		}
	}
	// Last, the strings the directory knows stored for this URL.
	for _, sp := range a.dir.storedAs(want, spellings) {
		if out, err := try(sp); err != nil || len(out) > 0 {
			return out, err
		}
	}
	return nil, nil
}

// locate finds live contact id (NextLead has no read by id). A contact
// without an email is first looked for under the LinkedIn string NextLead
// stores for it, when the adapter remembers it (one find-contact call);
// then every contact by the emails and then the LinkedIn URLs of people
// (the common spellings of each). When all miss, the user-created feed is
// read again (see relocate): only a contact absent from that fresh listing
// is ClassNotFound.
func (a *Adapter) locate(ctx context.Context, id string, people ...mapping.Person) (nextleadmap.Contact, error) {
	tried := ""
	if li, ok := a.dir.linkedIn(id); ok {
		c, ok, err := a.findID(ctx, id, nextleadmap.FindContact{LinkedInURL: li})
		if err != nil || ok {
			return c, err
		}
		tried = li
	}
	var emails, urls []string
	for _, p := range people {
		for _, e := range p.Emails {
			if e != "" && !slices.Contains(emails, e) {
				emails = append(emails, e)
			}
		}
		if p.LinkedIn != "" && !slices.Contains(urls, p.LinkedIn) {
			urls = append(urls, p.LinkedIn)
		}
	}
	for _, e := range emails {
		c, ok, err := a.findID(ctx, id, nextleadmap.FindContact{Email: e})
		if err != nil || ok {
			return c, err
		}
	}
	for _, u := range urls {
		found, err := a.findLinkedIn(ctx, u)
		if err != nil {
			return nextleadmap.Contact{}, err
		}
		for _, c := range found {
			if c.ID == id {
				return c, nil
			}
		}
	}
	return a.relocate(ctx, id, tried)
}

// key returns the lookup keys an edit or delete uses for c: its stored
// email, else its stored LinkedIn string.
func key(c nextleadmap.Contact) (email, linkedin string) {
	if hasEmail(&c) {
		return c.Email, ""
	}
	return "", c.LinkedIn
}

// createAnswer is new-contact's data.
type createAnswer struct {
	Contact struct {
		ID        string `json:"id"`
		CreatedAt string `json:"createdAt"`
		Email     string `json:"email"`
	} `json:"contact"`
	ID        string `json:"id"`
	CreatedAt string `json:"createdAt"`
}

// Create writes a new contact. A person with neither email nor LinkedIn is a
// validation error (no request is made); an email already used by a live
// contact is ClassConflict. Not retried here: after a lost reply, look the
// person up before creating again.
func (a *Adapter) Create(ctx context.Context, p mapping.Person) (providers.Record, error) {
	const op = "POST /api/v2/" + routeNew
	cat, err := a.tagNames(ctx, p.LeadStage)
	if err != nil {
		return providers.Record{}, fmt.Errorf("create contact: %w", err)
	}
	nc, err := nextleadmap.FromPerson(p, a.stages, cat)
	if errors.Is(err, nextleadmap.ErrNoIdentity) {
		return providers.Record{}, &providers.Error{Class: providers.ClassValidation, Op: op, Field: string(mapping.FieldEmails),
			Message: err.Error()}
	}
	if err != nil {
		return providers.Record{}, &providers.Error{Class: providers.ClassValidation, Op: op, Err: err}
	}
	var ans createAnswer
	if err := a.call(ctx, http.MethodPost, routeNew, nc, &ans); err != nil {
		return providers.Record{}, fmt.Errorf("create contact: %w", err)
	}
	c := nextleadmap.ApplyCreate(nc)
	c.ID, c.CreatedAt = ans.Contact.ID, ans.Contact.CreatedAt
	if c.ID == "" {
		c.ID, c.CreatedAt = ans.ID, ans.CreatedAt
	}
	if c.ID == "" {
		return providers.Record{}, &providers.Error{Class: providers.ClassPermanent, Op: op,
			Message: "answer holds no contact id"}
	}
	c.UpdatedAt = c.CreatedAt
	a.dir.learn(&c)
	return a.record(&c), nil
}

// editAnswer is edit-contact's data.
type editAnswer struct {
	Contact struct {
		ID        string `json:"id"`
		UpdatedAt string `json:"updatedAt"`
	} `json:"contact"`
}

// Update makes contact id hold desired for first and last name, primary
// phone, lead score and lead stage (NextLead cannot change an email or a
// LinkedIn URL after create). Only the fields that differ from what the
// contact holds are sent; nothing is sent when none differ.
//
// current is what crmsync last read of the contact: the run's fresh listing
// during a resync, a read-back just made otherwise. Most updates are sent
// under the key it gives, without a lookup first (see updateByKey). The
// others first locate the contact (see locate: by its remembered LinkedIn
// string, email, LinkedIn URL, else a fresh listing) and diff against what
// it holds then.
func (a *Adapter) Update(ctx context.Context, id string, current, desired mapping.Person) (providers.Record, error) {
	cat, err := a.tagNames(ctx, desired.LeadStage)
	if err != nil {
		return providers.Record{}, fmt.Errorf("update contact: %w", err)
	}
	if rec, ok, err := a.updateByKey(ctx, id, current, desired, cat); err != nil {
		return providers.Record{}, fmt.Errorf("update contact: %w", err)
	} else if ok {
		return rec, nil
	}
	c, err := a.locate(ctx, id, current, desired)
	if err != nil {
		return providers.Record{}, fmt.Errorf("update contact: %w", err)
	}
	have, _, _ := nextleadmap.ToPerson(&c, a.stages, a.region)
	v := nextleadmap.UpdateValues(have, desired, a.stages, cat)
	if v.Empty() {
		return a.record(&c), nil
	}
	mail, li := key(c)
	var ans editAnswer
	if err := a.call(ctx, http.MethodPost, routeEdit,
		nextleadmap.EditContact{Mail: mail, LinkedInFind: li, ValuesUpdate: []nextleadmap.Values{v}}, &ans); err != nil {
		return providers.Record{}, fmt.Errorf("update contact: %w", err)
	}
	nextleadmap.ApplyValues(&c, v)
	if ans.Contact.UpdatedAt != "" {
		c.UpdatedAt = ans.Contact.UpdatedAt
	}
	return a.record(&c), nil
}

// updateByKey sends the edit making contact id hold desired under the key
// current gives, without the find-contact call that locating it costs: the
// LinkedIn string the directory remembers for a contact without an email,
// else current's primary email (edit-contact compares emails
// case-insensitively). The answer is current with the edit applied. It
// reports false, having changed nothing in NextLead, when it cannot tell
// what the contact holds after the edit (the edit sets the phone: see
// nextleadmap.ApplyValuesToPerson), when there is nothing to send, when
// current gives no key, and when no live contact stores the key (404: its
// email changed, or it was deleted).
// It also reports false when the answer names another contact: one holding
// the email current lists first (its own primary email is invalid, or it
// lost the email since). That contact shares an email with the person, so
// crmsync matches it to the same person and gives it the same values; the
// caller then locates contact id as before.
func (a *Adapter) updateByKey(ctx context.Context, id string, current, desired mapping.Person, catalog []string) (providers.Record, bool, error) {
	v := nextleadmap.UpdateValues(current, desired, a.stages, catalog)
	after := current.Clone()
	if !nextleadmap.ApplyValuesToPerson(&after, v, a.stages) {
		return providers.Record{}, false, nil
	}
	mail, li := current.PrimaryEmail(), ""
	if s, ok := a.dir.linkedIn(id); ok {
		mail, li = "", s
	}
	if mail == "" && li == "" {
		return providers.Record{}, false, nil
	}
	if v.Empty() {
		// Nothing to send: locate answers the contact as it is now (and
		// that it still exists), as an edit's answer would.
		return providers.Record{}, false, nil
	}
	rec := providers.Record{ID: id, Person: after}
	var ans editAnswer
	err := a.call(ctx, http.MethodPost, routeEdit,
		nextleadmap.EditContact{Mail: mail, LinkedInFind: li, ValuesUpdate: []nextleadmap.Values{v}}, &ans)
	if providers.ClassOf(err) == providers.ClassNotFound {
		return providers.Record{}, false, nil
	}
	if err != nil {
		return providers.Record{}, false, err
	}
	if ans.Contact.ID != "" && ans.Contact.ID != id {
		a.log.WarnContext(ctx, "edit-contact under a contact's last known key edited another contact sharing its email; locating the contact",
			"contact", id, "edited", ans.Contact.ID)
		return providers.Record{}, false, nil
	}
	if ans.Contact.UpdatedAt != "" {
		at, err := nextleadmap.ParseTime(ans.Contact.UpdatedAt)
		if err != nil {
			rec.Issues = append(rec.Issues, err.Error())
		}
		rec.ChangedAt = at
	}
	return rec, true, nil
}

// Delete soft-deletes contact id, located as Update locates it.
func (a *Adapter) Delete(ctx context.Context, id string, p mapping.Person) error {
	c, err := a.locate(ctx, id, p)
	if err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	mail, li := key(c)
	if err := a.call(ctx, http.MethodPost, routeDelete, nextleadmap.DeleteContact{Email: mail, LinkedIn: li}, nil); err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	a.dir.forget(id)
	return nil
}

// SetPipelineStage moves contact id's most recent sale to the column named
// stage (matched by name and the connection's aliases), creating a sale in
// that column when the contact has none. A stage no column matches is not
// written. Sales are matched by contact email, so a contact without an email
// cannot have a pipeline stage.
func (a *Adapter) SetPipelineStage(ctx context.Context, id string, p mapping.Person, stage string) error {
	const op = "PUT /api/v2/" + routeUpdateSale
	match := func(o []providers.StageOption) (providers.StageOption, bool) {
		name, ok := mapping.MatchPipeline(stage, names(o), a.aliases)
		if !ok {
			return providers.StageOption{}, false
		}
		for _, c := range o {
			if c.Name == name {
				return c, true
			}
		}
		return providers.StageOption{}, false
	}
	cols, err := a.columns.get(ctx, a.loadColumns, func(o []providers.StageOption) bool {
		_, ok := match(o)
		return ok
	})
	if err != nil {
		return fmt.Errorf("set pipeline stage: %w", err)
	}
	col, ok := match(cols)
	if !ok {
		a.log.Debug("no sales column matches the pipeline stage; not written", "stage", stage)
		return nil
	}
	c, err := a.locate(ctx, id, p)
	if err != nil {
		return fmt.Errorf("set pipeline stage: %w", err)
	}
	if c.Email == "" {
		return &providers.Error{Class: providers.ClassValidation, Op: op, Field: string(mapping.FieldEmails),
			Message: "NextLead sales are matched by contact email; this contact has none"}
	}
	err = a.call(ctx, http.MethodPut, routeUpdateSale, nextleadmap.UpdateSale{ContactEmail: c.Email, Column: col.ID}, nil)
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Class == providers.ClassNotFound && pe.Message != msgNoContactForSale {
		name := mapping.JoinName(c.FirstName, c.LastName)
		if name == "" {
			name = c.Email
		}
		err = a.call(ctx, http.MethodPost, routeCreateSale,
			nextleadmap.CreateSale{Name: name, Column: col.ID, Contact: c.Email}, nil)
	}
	if err != nil {
		return fmt.Errorf("set pipeline stage: %w", err)
	}
	return nil
}
