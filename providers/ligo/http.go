package ligo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/providers"
	"github.com/crmsync/crmsync/providers/httpkit"
)

// Media types the adapter sends.
const (
	mediaJSONLD     = "application/ld+json"
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// request sends one request to path (an absolute path, or an absolute URL
// for a followed hydra:next) with body encoded as JSON under contentType.
// On a 2xx answer it returns the response, whose body the caller must close,
// and the cancel func of the request's timeout, which the caller must call
// once done with the body. Any other outcome is a *providers.Error.
func (a *Adapter) request(ctx context.Context, op, method, target string, body any, contentType string) (*http.Response, context.CancelFunc, error) {
	rd, err := httpkit.JSONBody(op, body)
	if err != nil {
		return nil, nil, err
	}
	u := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		u = a.base + target
	}
	rctx, cancel := context.WithTimeout(ctx, a.timeout)
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		cancel()
		return nil, nil, &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", mediaJSONLD)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		cancel()
		a.log.DebugContext(ctx, "ligo request failed", "op", op, "elapsed", time.Since(start), "error", redactURLError(err))
		return nil, nil, networkError(ctx, op, err)
	}
	a.log.DebugContext(ctx, "ligo request", "op", op, "status", resp.StatusCode, "elapsed", time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, cancel, nil
	}
	defer cancel()
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, nil, statusError(op, resp, b)
}

// networkError classes a transport failure: the caller's own cancellation is
// permanent for this call, everything else (time-outs, refused connections)
// retryable.
func networkError(ctx context.Context, op string, err error) error {
	err = redactURLError(err)
	if ctx.Err() != nil {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
	}
	return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: err}
}

// redactURLError drops the URL's query from a *url.Error's text; the token
// never is in a URL, but a followed hydra:next is foreign input.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			u.User = nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// errorBody is the union of Ligo's error shapes: the auth layer's
// {"code","message"}, API Platform's hydra:Error and RFC 7807 problem, and
// its ConstraintViolationList.
type errorBody struct {
	Message          string `json:"message"`
	HydraDescription string `json:"hydra:description"`
	Detail           string `json:"detail"`
	HydraTitle       string `json:"hydra:title"`
	Title            string `json:"title"`
	Violations       []struct {
		PropertyPath string `json:"propertyPath"`
		Message      string `json:"message"`
	} `json:"violations"`
}

func (e errorBody) text() string {
	for _, s := range []string{e.HydraDescription, e.Detail, e.Message, e.HydraTitle, e.Title} {
		if s != "" {
			return s
		}
	}
	return ""
}

// statusError maps a non-2xx answer to a typed error carrying the CRM's
// message verbatim.
func statusError(op string, resp *http.Response, body []byte) error {
	var eb errorBody
	_ = json.Unmarshal(body, &eb)
	e := httpkit.StatusError(op, resp.StatusCode, eb.text(), resp.Header.Get("Retry-After"), time.Now())
	if e.Class == providers.ClassValidation && len(eb.Violations) > 0 {
		e.Field = eb.Violations[0].PropertyPath
		e.Message = eb.Violations[0].Message
	}
	return e
}

// decodeError wraps a failure to read a 2xx answer: a cut or garbled body is
// retryable (the next attempt may read it whole).
func decodeError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return &providers.Error{Class: providers.ClassPermanent, Op: op, Err: ctx.Err()}
	}
	return &providers.Error{Class: providers.ClassRetryable, Op: op, Err: fmt.Errorf("decode answer: %w", redactURLError(err))}
}
