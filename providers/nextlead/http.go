package nextlead

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/httpkit"
)

// maxSmallBody bounds the bodies read whole (everything but the polling
// feeds, which are streamed).
const maxSmallBody = 8 << 20

// errTimeout is the cause of a request cancelled by the adapter's timeout.
var errTimeout = errors.New("no answer within the request timeout")

// body is a response body whose reads each re-arm the request timeout (so a
// long streamed listing is bounded by idle time, not total time) and whose
// Close releases the request.
type body struct {
	rc      io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
	cancel  context.CancelCauseFunc
	ctx     context.Context
	parent  context.Context
	op      string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.timer.Reset(b.timeout)
	if err != nil && err != io.EOF {
		return n, netError(b.op, b.parent, b.ctx, err)
	}
	return n, err
}

func (b *body) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(context.Canceled)
	return err
}

// send makes one request to route (under /api/v2/) with body v encoded as
// JSON (none when nil). A 2xx answer returns its body, which the caller
// closes; anything else is a *providers.Error.
func (a *Adapter) send(ctx context.Context, method, route string, v any) (*body, error) {
	op := method + " /api/v2/" + route
	rd, err := httpkit.JSONBody(op, v)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(a.timeout, func() { cancel(errTimeout) })
	req, err := http.NewRequestWithContext(rctx, method, a.base+"/api/v2/"+route, rd)
	if err != nil {
		timer.Stop()
		cancel(context.Canceled)
		return nil, &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+a.apiKey)
	req.Header.Set("Accept", "application/json")
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		timer.Stop()
		e := netError(op, ctx, rctx, err)
		cancel(context.Canceled)
		return nil, e
	}
	b := &body{rc: resp.Body, timer: timer, timeout: a.timeout, cancel: cancel, ctx: rctx, parent: ctx, op: op}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return b, nil
	}
	defer b.Close()
	raw, _ := io.ReadAll(io.LimitReader(b, 64<<10))
	return nil, statusError(op, resp.StatusCode, resp.Header.Get("Retry-After"), raw)
}

// netError classifies a transport failure: the caller's own cancellation is
// permanent for this call, everything else (time-outs, connection errors)
// retryable.
func netError(op string, parent, rctx context.Context, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err
	}
	if parent.Err() != nil {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: parent.Err()}
	}
	if cause := context.Cause(rctx); errors.Is(cause, errTimeout) {
		return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: errTimeout}
	}
	return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: err}
}

var quotedParam = regexp.MustCompile(`'([A-Za-z_]+)'`)

// fieldOf names the field a NextLead validation message is about, where it
// says.
func fieldOf(msg string) string {
	if m := quotedParam.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	switch msg {
	case "A contact with this email already exists":
		return "emails"
	case "Contact email or LinkedIn URL required", "Missing contact email or LinkedIn URL",
		"Missing or invalid contact email address or LinkedIn account":
		return "emails"
	}
	return ""
}

// errorEnvelope is NextLead's error body (and a few common variants).
type errorEnvelope struct {
	Status  json.Number `json:"status"`
	Error   string      `json:"error"`
	Message string      `json:"message"`
}

// statusError maps a non-2xx answer to a *providers.Error with the CRM's
// message verbatim.
func statusError(op string, status int, retryAfter string, raw []byte) error {
	var msg string
	var env errorEnvelope
	if json.Unmarshal(raw, &env) == nil {
		msg = env.Error
		if msg == "" {
			msg = env.Message
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := httpkit.StatusError(op, status, msg, retryAfter, time.Now())
	switch status {
	case http.StatusForbidden:
		e.Class = providers.ClassAuth
	case http.StatusRequestTimeout:
		e.Class = providers.ClassRetryable
	}
	if e.Class == providers.ClassValidation || e.Class == providers.ClassConflict {
		e.Field = fieldOf(msg)
	}
	return e
}

// envelope is NextLead's success body.
type envelope struct {
	Status json.Number     `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

// call sends a request and decodes the answer's data (from the envelope, or
// the bare value) into out (nil to ignore it).
func (a *Adapter) call(ctx context.Context, method, route string, in, out any) error {
	b, err := a.send(ctx, method, route, in)
	if err != nil {
		return err
	}
	defer b.Close()
	op := method + " /api/v2/" + route
	raw, err := io.ReadAll(io.LimitReader(b, maxSmallBody))
	if err != nil {
		return netError(op, ctx, b.ctx, err)
	}
	data, err := unwrap(op, raw)
	if err != nil {
		return err
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("decode answer: %w", err)}
	}
	return nil
}

// unwrap returns the data of a success body: the envelope's data, or the
// bare value itself. An envelope carrying an error status is that error.
func unwrap(op string, raw []byte) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[0] != '{' {
		return raw, nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("decode answer: %w", err)}
	}
	if env.Error != "" {
		st, _ := strconv.Atoi(env.Status.String())
		if st < 400 {
			st = http.StatusBadRequest
		}
		return nil, statusError(op, st, "", raw)
	}
	if env.Data == nil {
		return raw, nil
	}
	return env.Data, nil
}
