package epixel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/crmsync/crmsync/mapping/epixelmap"
	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/httpkit"
)

// envelope is Epixel's answer: {"status_code","errors","data"}.
type envelope struct {
	StatusCode int                        `json:"status_code"`
	Errors     map[string]json.RawMessage `json:"errors"`
	Data       json.RawMessage            `json:"data"`
}

// request is one call to make: the form (nil for a GET) is rebuilt into a
// fresh body on each attempt.
type request struct {
	method string
	route  string // the route template, for Op and logs
	query  url.Values
	form   [][2]string
	auth   bool // needs the bearer token
}

func (r *request) op() string { return r.method + " " + r.route }

// multipartBody encodes pairs as multipart/form-data.
func multipartBody(pairs [][2]string) (*bytes.Buffer, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range pairs {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", fmt.Errorf("encode form field %s: %w", kv[0], err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("encode form: %w", err)
	}
	return &buf, mw.FormDataContentType(), nil
}

// send makes one attempt of req with the given access token and returns the
// response and the cancel func that bounds it (call it after reading the
// body). A non-2xx answer is turned into a *providers.Error here, the body
// read and closed.
func (a *Adapter) send(ctx context.Context, req *request, token string) (*http.Response, context.CancelFunc, error) {
	u := a.base + req.route
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	contentType := ""
	if req.form != nil {
		buf, ct, err := multipartBody(req.form)
		if err != nil {
			return nil, nil, &providers.Error{Class: providers.ClassPermanent, Op: req.op(), Err: err}
		}
		body, contentType = buf, ct
	}
	rctx, cancel := context.WithTimeout(ctx, a.timeout)
	hreq, err := http.NewRequestWithContext(rctx, req.method, u, body)
	if err != nil {
		cancel()
		return nil, nil, &providers.Error{Class: providers.ClassPermanent, Op: req.op(), Err: errors.New("build request: invalid base URL")}
	}
	hreq.Header.Set("apikey", a.apiKey)
	hreq.Header.Set("Accept", "application/json")
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	if req.auth {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(hreq)
	if err != nil {
		cancel()
		return nil, nil, a.transportError(ctx, req.op(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, cancel, nil
	}
	defer cancel()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, nil, classify(req.op(), resp, raw)
}

// transportError classifies a failure to get an answer: the caller's
// cancellation is permanent for this call, anything else (time-outs,
// connection errors) retryable. The error text holds no credential: they
// travel in headers and bodies only.
func (a *Adapter) transportError(ctx context.Context, op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop the URL (it may carry an email filter)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
	}
	return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: err}
}

// Detail messages of 401 answers that are about credentials.
var authDetails = []string{
	"authentication failed", "invalid api key", "no active account", "token is invalid or expired",
	"credentials", "token", "not authenticated",
}

// classify turns a non-2xx answer into a *providers.Error.
func classify(op string, resp *http.Response, raw []byte) error {
	var env envelope
	_ = json.Unmarshal(raw, &env)
	field, msg := firstError(env.Errors)
	e := httpkit.StatusError(op, resp.StatusCode, msg, resp.Header.Get("Retry-After"), time.Now())
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		e.Class = classify401(msg)
	case code == http.StatusRequestTimeout:
		e.Class = providers.ClassRetryable
	case e.Class == providers.ClassValidation:
		if field != "" && field != "detail" && field != "non_field_errors" {
			e.Field = epixelmap.NativeField(field)
		}
		switch msg {
		case "Requested slug is invalid.", "Requested lead not found.", "Requested lead already has a deleted status.",
			"Requested note not found.":
			e.Class = providers.ClassNotFound
		}
	}
	return e
}

// classify401 tells a refused credential from Epixel's 401 "Request Failed"
// answers about a lead's existence or ownership.
func classify401(msg string) providers.Class {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "does not esixt") || strings.Contains(low, "does not exist") || strings.Contains(low, "not found"):
		return providers.ClassNotFound
	case strings.HasPrefix(low, "you can't") || strings.HasPrefix(low, "you cannot") || strings.Contains(low, "not owner"):
		return providers.ClassPermanent
	}
	return providers.ClassAuth
}

// isTokenExpired reports whether err is the 401 of an expired or unknown
// access token, which a fresh token may cure.
func isTokenExpired(err error) bool {
	var e *providers.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Class != providers.ClassAuth {
		return false
	}
	low := strings.ToLower(e.Message)
	return !strings.Contains(low, "api key")
}

// firstError picks the field and message to report from an errors object:
// the first field in name order ("detail" last), its first message.
func firstError(errs map[string]json.RawMessage) (field, msg string) {
	if len(errs) == 0 {
		return "", ""
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "detail") != (keys[j] == "detail") {
			return keys[j] == "detail"
		}
		return keys[i] < keys[j]
	})
	field = keys[0]
	raw := errs[field]
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return field, list[0]
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return field, s
	}
	return field, strings.TrimSpace(string(raw))
}

// do sends req with a valid token, renewing the token once on an expired
// access token, and returns the successful response; the caller reads and
// closes the body, then calls the cancel func.
func (a *Adapter) do(ctx context.Context, req *request) (*http.Response, context.CancelFunc, error) {
	var tok string
	var gen uint64
	if req.auth {
		var err error
		if tok, gen, err = a.token(ctx); err != nil {
			return nil, nil, err
		}
	}
	resp, cancel, err := a.send(ctx, req, tok)
	if err == nil || !req.auth || !isTokenExpired(err) {
		return resp, cancel, err
	}
	a.log.DebugContext(ctx, "epixel: access token refused, renewing", "connection", a.name, "op", req.op())
	if tok, err = a.renew(ctx, gen); err != nil {
		return nil, nil, err
	}
	return a.send(ctx, req, tok)
}

// call sends req and decodes the envelope's data into out (when not nil).
func (a *Adapter) call(ctx context.Context, req *request, out any) error {
	resp, cancel, err := a.do(ctx, req)
	if err != nil {
		return err
	}
	defer cancel()
	defer drainClose(resp.Body)
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return a.decodeError(ctx, req.op(), err)
	}
	if out == nil || len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return &providers.Error{Class: providers.ClassPermanent, Op: req.op(), Status: resp.StatusCode, Err: fmt.Errorf("decode data: %w", err)}
	}
	return nil
}

// decodeError classifies a failure while reading a successful answer: a
// broken connection or time-out is retryable, malformed JSON permanent.
func (a *Adapter) decodeError(ctx context.Context, op string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("decode answer: %w", err)}
	}
	return a.transportError(ctx, op, fmt.Errorf("read answer: %w", err))
}
