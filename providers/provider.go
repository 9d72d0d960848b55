// Package providers defines what crmsync needs of a CRM: the Provider
// interface every adapter implements, the capability flags that tell the
// engine what a CRM can and cannot do, the typed errors adapters return, and
// the Simulator interface every provider's fake CRM implements for tests, the
// demo and the benchmark.
package providers

import (
	"context"
	"iter"
	"time"

	"github.com/crmsync/crmsync/mapping"
)

// Record is one CRM record seen through the canonical map.
type Record struct {
	// ID is the CRM's own identifier, opaque to the engine (Skarbe's integers
	// are rendered in decimal).
	ID string
	// Person holds the record's values mapped to canonical fields. Only the
	// fields in Capabilities.Holds are meaningful.
	Person mapping.Person
	// ChangedAt is the CRM's own change time of the record; zero where the
	// CRM has none (the engine then uses its observation time).
	ChangedAt time.Time
	// Issues lists values that could not be mapped (an unknown lead status, an
	// invalid email), for the engine to report. The record still maps.
	Issues []string
}

// ChangeKind says what a Change is.
type ChangeKind int

const (
	// ChangeUpsert is a record created or possibly edited since the checkpoint.
	ChangeUpsert ChangeKind = iota + 1
	// ChangeDelete is a record deleted since the checkpoint.
	ChangeDelete
)

// Change is one item of a change feed.
type Change struct {
	Kind ChangeKind
	// Record is set for ChangeUpsert; for ChangeDelete only Record.ID (and
	// Record.ChangedAt where the CRM tells the deletion time) are set.
	Record Record
}

// ChangesResult ends a Changes call.
type ChangesResult struct {
	// Checkpoint is the opaque value to pass to the next Changes call. The
	// engine stores it only after it has applied every change yielded.
	Checkpoint []byte
	// Complete is true when the upserts yielded were every live record in the
	// CRM: a linked record not among them was deleted (the engine confirms
	// with Get where the CRM has it, since a paged listing can miss a record
	// that moved between pages).
	Complete bool
}

// StageOption is one entry of a CRM's lead-stage or pipeline catalog.
type StageOption struct {
	ID   string
	Name string
	// Type is Skarbe's status type (lead, qualified, disqualified); empty
	// elsewhere.
	Type string
}

// Capabilities says what a CRM can do, so that the engine has no special
// cases by provider.
type Capabilities struct {
	// Holds lists the canonical fields the CRM stores and reads back.
	Holds mapping.FieldSet
	// Creates lists the fields a create can set.
	Creates mapping.FieldSet
	// Updates lists the fields an update can set; empty when the CRM has no
	// update route (Skarbe).
	Updates mapping.FieldSet
	// Required lists the fields a create (and an update, where it is a full
	// replace) cannot do without; a person lacking one is skipped with a
	// reason, never written with invented values.
	Required []mapping.Field
	// RequireOneOf, when set, means a create needs at least one of these
	// fields (Skarbe: email or first name; NextLead: email or LinkedIn).
	RequireOneOf []mapping.Field
	// Delete is true when the CRM has a route to delete a contact.
	Delete bool
	// FindByEmail and FindByLinkedIn are true when the CRM can look a person
	// up by that identity without listing everything.
	FindByEmail    bool
	FindByLinkedIn bool
	// Get is true when a record can be read by its ID (confirming deletes).
	Get bool
	// ChangeTimes is true when records carry the CRM's own change time.
	ChangeTimes bool
	// UniqueEmail is true when the CRM refuses a second live contact with the
	// same email (NextLead's 409).
	UniqueEmail bool
	// MaxEmails and MaxPhones are how many addresses and numbers the CRM
	// holds (0: any number); the engine compares only that many.
	MaxEmails, MaxPhones int
	// JoinedName is true when the CRM holds one full-name field that is
	// split at the first space on read (Ligo).
	JoinedName bool
}

// Provider is one CRM as the engine sees it. Every method takes the context
// first and returns the typed errors of this package (see Error).
type Provider interface {
	// Kind names the provider: nextlead, skarbe, epixel or ligo.
	Kind() string
	// Capabilities says what this CRM can do.
	Capabilities() Capabilities
	// List streams every live record exactly once, never holding the whole
	// listing in memory.
	List(ctx context.Context) iter.Seq2[Record, error]
	// Changes calls yield for every record changed since checkpoint (nil for
	// "from the beginning"; it may also yield unchanged records) and every
	// deletion it can see, then returns the next checkpoint. An error from
	// yield stops the feed and is returned.
	Changes(ctx context.Context, checkpoint []byte, yield func(Change) error) (ChangesResult, error)
	// Get reads one record by ID; ErrNotFound when it is gone. Only when
	// Capabilities.Get.
	Get(ctx context.Context, id string) (Record, error)
	// FindByEmail returns the live records whose email is email (already
	// normalized). Only when Capabilities.FindByEmail.
	FindByEmail(ctx context.Context, email string) ([]Record, error)
	// FindByLinkedIn returns the live records whose LinkedIn URL is url (the
	// canonical form; the adapter also tries the CRM's stored spelling where
	// it is known). Only when Capabilities.FindByLinkedIn.
	FindByLinkedIn(ctx context.Context, url string) ([]Record, error)
	// Create writes a new record with the fields of p the CRM can take on
	// create and returns it as the CRM answered.
	Create(ctx context.Context, p mapping.Person) (Record, error)
	// Update makes record id hold desired for the fields in Capabilities.Updates.
	// current is what crmsync last saw in the record (its base state), which
	// adapters whose update is a full replace, or that find records by email,
	// need.
	Update(ctx context.Context, id string, current, desired mapping.Person) (Record, error)
	// Delete removes record id (p is its last known state, for CRMs that
	// delete by email). Only when Capabilities.Delete.
	Delete(ctx context.Context, id string, p mapping.Person) error
	// LeadStages reads the CRM's lead-stage catalog in its own order.
	LeadStages(ctx context.Context) ([]StageOption, error)
	// PipelineStages reads the CRM's pipeline catalog (NextLead sale columns,
	// Ligo pipeline states); nil for CRMs without pipelines.
	PipelineStages(ctx context.Context) ([]StageOption, error)
	// SetPipelineStage moves record id (p its state) to the pipeline stage
	// named stage, matched by name per the stage maps; ErrUnsupported where
	// the CRM has no pipeline.
	SetPipelineStage(ctx context.Context, id string, p mapping.Person, stage string) error
}
