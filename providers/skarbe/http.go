package skarbe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/skarbemap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/httpkit"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// response is an answered request whose body is still open. Close releases
// it and its timeout.
type response struct {
	*http.Response
	body   io.ReadCloser
	cancel context.CancelFunc
}

func (r *response) Close() {
	_ = r.body.Close()
	r.cancel()
}

// idleBody bounds each Read of a streamed body by the adapter's timeout, so a
// stalled server fails the call while a slow consumer does not.
type idleBody struct {
	rc      io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}

// do sends one request. The timeout bounds the wait for the answer's headers
// and, while the body is read, each read. Any answer other than 2xx is turned
// into a *providers.Error and its body closed.
func (a *Adapter) do(ctx context.Context, op, method, path string, query url.Values, body any) (*response, error) {
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	rd, err := httpkit.JSONBody(op, body)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(a.timeout, cancel)
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		timer.Stop()
		cancel()
		return nil, &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("build request: %w", a.redact(err))}
	}
	req.Header.Set("X-Api-Key", a.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := a.client.Do(req)
	timer.Stop()
	if err != nil {
		cancel()
		return nil, a.transportError(ctx, op, err)
	}
	a.log.LogAttrs(ctx, slog.LevelDebug, "skarbe request",
		slog.String("connection", a.name), slog.String("op", op), slog.Int("status", resp.StatusCode),
		slog.Duration("elapsed", time.Since(start)))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer cancel()
		defer resp.Body.Close()
		return nil, a.statusError(op, resp)
	}
	idle := time.AfterFunc(a.timeout, cancel)
	idle.Stop()
	return &response{
		Response: resp,
		body:     &idleBody{rc: resp.Body, timer: idle, timeout: a.timeout},
		cancel:   cancel,
	}, nil
}

// transportError classes a failure to get an answer: the caller's own
// cancellation is permanent for this call; time-outs and network failures are
// retryable.
func (a *Adapter) transportError(ctx context.Context, op string, err error) error {
	err = a.redact(err)
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
	}
	if errors.Is(err, context.Canceled) {
		// Our own timer cancelled the request.
		err = fmt.Errorf("no answer within %s: %w", a.timeout, context.DeadlineExceeded)
	}
	return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: err}
}

// streamError classes a failure while decoding an answer's body.
func (a *Adapter) streamError(ctx context.Context, op string, err error) error {
	var ne net.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: fmt.Errorf("answer stalled for %s: %w", a.timeout, context.DeadlineExceeded)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.As(err, &ne):
		return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: fmt.Errorf("answer cut short: %w", a.redact(err))}
	case errors.As(err, &se), errors.As(err, &te):
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("malformed answer: %w", err)}
	default:
		return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: a.redact(err)}
	}
}

// statusError turns a non-2xx answer into a *providers.Error.
func (a *Adapter) statusError(op string, resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := errorMessage(raw)
	e := httpkit.StatusError(op, resp.StatusCode, a.redactString(msg), resp.Header.Get("Retry-After"), time.Now())
	if e.Class == providers.ClassValidation {
		e.Field = fieldOf(msg)
	}
	return e
}

// errorMessage extracts Skarbe's {"error": "..."} message, tolerating a
// {"message": "..."} body and plain text.
func errorMessage(raw []byte) string {
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil {
		var s string
		if json.Unmarshal(body.Error, &s) == nil && s != "" {
			return s
		}
		if body.Message != "" {
			return body.Message
		}
		if len(body.Error) > 0 && string(body.Error) != "null" {
			return string(body.Error)
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// fieldOf names the canonical field a Skarbe validation message is about.
func fieldOf(msg string) string {
	switch msg {
	case skarbemap.MsgInvalidEmail:
		return string(mapping.FieldEmails)
	case skarbemap.MsgInvalidLeadStatus:
		return string(mapping.FieldLeadStage)
	case skarbemap.MsgRequired:
		return string(mapping.FieldEmails) + "," + string(mapping.FieldFirstName)
	}
	return ""
}

// redact removes the API key from an error, should a transport ever echo it.
func (a *Adapter) redact(err error) error {
	if err == nil || a.apiKey == "" || !strings.Contains(err.Error(), a.apiKey) {
		return err
	}
	return errors.New(a.redactString(err.Error()))
}

func (a *Adapter) redactString(s string) string {
	if a.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, a.apiKey, "[redacted]")
}
