package adaptertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
)

// Refusal is what [ReadRefusal] found in an answer: the parts of an RFC 6750
// refusal that tests check, read from the status line, the headers and the
// JSON body.
type Refusal struct {
	// Status is the HTTP status.
	Status int
	// Code is the body's "code", the [entra.Code] of the failure.
	Code entra.Code
	// Error is the OAuth error code of the body's "error", e.g. "invalid_token".
	Error string
	// Description is the body's "error_description".
	Description string
	// Challenge is the WWW-Authenticate header ("" when absent).
	Challenge string
	// Scope is the scope parameter of the challenge, for a 403.
	Scope string
	// RetryAfter is the Retry-After header, for a 503.
	RetryAfter string
}

// ReadRefusal reads res (its body is read and closed) as a refusal. It
// fails t when the answer is not one (no JSON body of the refusal's shape).
func ReadRefusal(t testing.TB, res *http.Response) Refusal {
	t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatalf("adaptertest: reading the answer: %v", err)
	}
	var b struct {
		Error       string     `json:"error"`
		Description string     `json:"error_description"`
		Code        entra.Code `json:"code"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Code == "" {
		t.Fatalf("adaptertest: the answer (status %d) is not an entraguard refusal: body %q", res.StatusCode, truncate(body))
	}
	r := Refusal{
		Status:      res.StatusCode,
		Code:        b.Code,
		Error:       b.Error,
		Description: b.Description,
		Challenge:   res.Header.Get("WWW-Authenticate"),
		RetryAfter:  res.Header.Get("Retry-After"),
	}
	if _, rest, ok := strings.Cut(r.Challenge, `scope="`); ok {
		r.Scope, _, _ = strings.Cut(rest, `"`)
	}
	return r
}

// AssertRefusal fails t unless res is the refusal that entraguard answers
// for code, checked as a client sees it: the status, the WWW-Authenticate
// challenge (its error parameter, or none for a missing token) or the
// Retry-After of a 503, the Content-Type and Cache-Control, and the JSON
// body's error and code. Use it instead of comparing strings:
//
//	res, _ := http.DefaultClient.Do(req)
//	adaptertest.AssertRefusal(t, res, entra.CodeForbidden)
//
// or, with a recorder, adaptertest.AssertRefusal(t, rec.Result(), entra.CodeTokenExpired).
// It reads and closes res.Body and returns what it read.
func AssertRefusal(t testing.TB, res *http.Response, code entra.Code) Refusal {
	t.Helper()
	want := entra.ResponseFor(context.Background(), &entra.Error{Code: code})
	var wantBody struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(want.Body, &wantBody)
	contentType, cacheControl := res.Header.Get("Content-Type"), res.Header.Get("Cache-Control")
	got := ReadRefusal(t, res)
	if got.Code != code {
		t.Errorf("adaptertest: refused with code %q (%s), want %q", got.Code, got.Description, code)
	}
	if got.Status != want.Status {
		t.Errorf("adaptertest: status %d, want %d for code %q", got.Status, want.Status, code)
	}
	if got.Error != wantBody.Error {
		t.Errorf("adaptertest: body error %q, want %q for code %q", got.Error, wantBody.Error, code)
	}
	if !strings.HasPrefix(contentType, "application/json") {
		t.Errorf("adaptertest: Content-Type %q, want application/json", contentType)
	}
	if cacheControl != "no-store" {
		t.Errorf("adaptertest: Cache-Control %q, want no-store", cacheControl)
	}
	switch want.Status {
	case http.StatusServiceUnavailable:
		if got.RetryAfter == "" {
			t.Errorf("adaptertest: a 503 without Retry-After")
		}
	case http.StatusInternalServerError:
	default:
		if !strings.HasPrefix(got.Challenge, "Bearer ") {
			t.Errorf("adaptertest: WWW-Authenticate %q, want a Bearer challenge", got.Challenge)
		}
		hasError := strings.Contains(got.Challenge, `error="`)
		switch {
		case code == entra.CodeTokenMissing && hasError:
			t.Errorf("adaptertest: WWW-Authenticate %q has an error code; a request without a token gets none (RFC 6750 section 3.1)", got.Challenge)
		case code != entra.CodeTokenMissing && !strings.Contains(got.Challenge, `error="`+wantBody.Error+`"`):
			t.Errorf("adaptertest: WWW-Authenticate %q, want error=%q", got.Challenge, wantBody.Error)
		}
	}
	return got
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
