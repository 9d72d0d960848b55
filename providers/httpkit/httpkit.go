// Package httpkit is the HTTP plumbing the CRM adapters share: reading a
// Retry-After header, the common status → providers.Class rule behind a
// failed answer's *providers.Error, and encoding a JSON request body.
//
// Each CRM's error-body decoding, its per-status exceptions (Epixel's 401s
// about a lead, NextLead's 403) and its timeout handling stay in its own
// adapter package.
package httpkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/providers"
)

// RetryAfter reads a Retry-After header value: delta-seconds (a decimal
// fraction is tolerated) or an HTTP date, the latter rounded to whole
// seconds from now. The result is never less than one second, the least a
// 429 asks for; a missing, unreadable, past or absurd value is one second.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n > 0 && n < float64(math.MaxInt64)/float64(time.Second) {
			return max(time.Duration(n*float64(time.Second)), time.Second)
		}
		return time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now).Round(time.Second), time.Second)
	}
	return time.Second
}

// StatusClass is the common class of a failed answer's status: 401
// ClassAuth; 400 and 422 ClassValidation; 404 ClassNotFound; 409
// ClassConflict; 429 ClassRateLimited; 5xx ClassRetryable; anything else
// ClassPermanent. Adapters apply their CRM's exceptions on top.
func StatusClass(status int) providers.Class {
	switch {
	case status == http.StatusUnauthorized:
		return providers.ClassAuth
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return providers.ClassValidation
	case status == http.StatusNotFound:
		return providers.ClassNotFound
	case status == http.StatusConflict:
		return providers.ClassConflict
	case status == http.StatusTooManyRequests:
		return providers.ClassRateLimited
	case status >= 500:
		return providers.ClassRetryable
	default:
		return providers.ClassPermanent
	}
}

// StatusError is the *providers.Error of a non-2xx answer of op: its status,
// the CRM's message verbatim (msg, decoded by the adapter), the class of
// StatusClass and, for a 429, the wait its retryAfter header asks for
// (read at now). The adapter then sets Field and its own exceptions.
func StatusError(op string, status int, msg, retryAfter string, now time.Time) *providers.Error {
	e := &providers.Error{Op: op, Status: status, Message: msg, Class: StatusClass(status)}
	if e.Class == providers.ClassRateLimited {
		e.RetryAfter = RetryAfter(retryAfter, now)
	}
	return e
}

// JSONBody encodes v as a request body of op: nil (no body) when v is nil.
// A value that cannot be encoded is a permanent *providers.Error.
func JSONBody(op string, v any) (io.Reader, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &providers.Error{Class: providers.ClassPermanent, Op: op, Err: fmt.Errorf("encode body: %w", err)}
	}
	return bytes.NewReader(b), nil
}
