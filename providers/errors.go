package providers

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the engine should do about a failed call.
type Class int

// The error classes.
const (
	// ClassPermanent: retrying will not help; record the failure.
	ClassPermanent Class = iota
	// ClassAuth: the credentials were refused.
	ClassAuth
	// ClassValidation: the CRM refused the values (Field and Message say why).
	ClassValidation
	// ClassNotFound: the record does not exist (any more).
	ClassNotFound
	// ClassRateLimited: too many requests; retry after RetryAfter.
	ClassRateLimited
	// ClassRetryable: a server error, time-out or network failure; the call
	// may or may not have been applied.
	ClassRetryable
	// ClassUnsupported: the CRM has no route for this.
	ClassUnsupported
	// ClassConflict: the CRM refused a duplicate (NextLead's 409 on email).
	ClassConflict
)

var classNames = map[Class]string{
	ClassPermanent: "permanent", ClassAuth: "auth", ClassValidation: "validation",
	ClassNotFound: "not_found", ClassRateLimited: "rate_limited", ClassRetryable: "retryable",
	ClassUnsupported: "unsupported", ClassConflict: "conflict",
}

// String names the class as it appears in metrics and skip reasons.
func (c Class) String() string { return classNames[c] }

// Error is the typed error every adapter returns for a failed call. It never
// holds a credential.
type Error struct {
	Class Class
	// Op names the call, e.g. "POST /api/contacts".
	Op string
	// Status is the HTTP status, 0 for network failures.
	Status int
	// Field is the field a validation failure names, where the CRM says.
	Field string
	// Message is the CRM's own message, verbatim.
	Message string
	// RetryAfter is the delay the CRM asked for on a 429.
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Op, e.Class)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Field != "" {
		s += " field " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and the other class sentinels work.
func (e *Error) Is(target error) bool {
	if t, ok := target.(classSentinel); ok {
		return e.Class == Class(t)
	}
	return false
}

type classSentinel Class

func (c classSentinel) Error() string { return Class(c).String() }

// Sentinels for errors.Is on an *Error's class.
var (
	ErrAuth        error = classSentinel(ClassAuth)
	ErrValidation  error = classSentinel(ClassValidation)
	ErrNotFound    error = classSentinel(ClassNotFound)
	ErrRateLimited error = classSentinel(ClassRateLimited)
	ErrRetryable   error = classSentinel(ClassRetryable)
	ErrUnsupported error = classSentinel(ClassUnsupported)
	ErrConflict    error = classSentinel(ClassConflict)
	ErrPermanent   error = classSentinel(ClassPermanent)
)

// ClassOf returns the class of err: the class of the *Error it wraps, or
// ClassRetryable for anything else (network errors, time-outs), except a
// cancelled context, which is permanent for this call.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return ClassUnsupported
	}
	return ClassRetryable
}

// Unsupported returns the permanent "not supported by this CRM" outcome for op.
func Unsupported(op string) error {
	return &Error{Class: ClassUnsupported, Op: op, Message: "not supported by this CRM"}
}
