package httpkit

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/crmsync/crmsync/providers"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", time.Second},
		{"3", 3 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", time.Second},
		{"-4", time.Second},
		{"2.5", 2500 * time.Millisecond},
		{"0.2", time.Second},
		{"soon", time.Second},
		{"NaN", time.Second},
		{"Inf", time.Second},
		{"1e300", time.Second},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), time.Second},
		{now.Format(http.TimeFormat), time.Second},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzRetryAfter: whatever the header, the wait is at least one second.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "0", "-1", "2.5", "1e19", "NaN", "Sun, 01 Mar 2026 12:00:09 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got := RetryAfter(v, now); got < time.Second {
			t.Fatalf("RetryAfter(%q) = %v", v, got)
		}
	})
}

func TestStatusClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   providers.Class
	}{
		{400, providers.ClassValidation},
		{401, providers.ClassAuth},
		{403, providers.ClassPermanent},
		{404, providers.ClassNotFound},
		{405, providers.ClassPermanent},
		{408, providers.ClassPermanent},
		{409, providers.ClassConflict},
		{415, providers.ClassPermanent},
		{422, providers.ClassValidation},
		{429, providers.ClassRateLimited},
		{500, providers.ClassRetryable},
		{502, providers.ClassRetryable},
		{503, providers.ClassRetryable},
		{504, providers.ClassRetryable},
	}
	for _, tt := range tests {
		if got := StatusClass(tt.status); got != tt.want {
			t.Errorf("StatusClass(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	e := StatusError("GET /x", 429, "Too many requests", "4", now)
	if e.Op != "GET /x" || e.Status != 429 || e.Message != "Too many requests" || e.Class != providers.ClassRateLimited || e.RetryAfter != 4*time.Second {
		t.Fatalf("%+v", e)
	}
	e = StatusError("POST /y", 500, "boom", "4", now)
	if e.Class != providers.ClassRetryable || e.RetryAfter != 0 {
		t.Fatalf("a 5xx carries no RetryAfter: %+v", e)
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	if r, err := JSONBody("op", nil); r != nil || err != nil {
		t.Fatalf("nil: %v %v", r, err)
	}
	r, err := JSONBody("op", map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != `{"a":"b"}` {
		t.Fatalf("%s", b)
	}
	_, err = JSONBody("POST /z", func() {})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Class != providers.ClassPermanent || pe.Op != "POST /z" {
		t.Fatalf("%v", err)
	}
}
