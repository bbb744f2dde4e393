package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/internal/guid"
)

// maxDocumentSize caps a metadata or key set document.
const maxDocumentSize = 1 << 20

// metadata is the part of an OpenID metadata document this package uses.
type metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	CloudInstanceName     string `json:"cloud_instance_name"`
}

// issuer is an accepted token issuer, possibly a "{tenantid}" template.
type issuer struct {
	pre, suf  string // the issuer split at {tenantid}; suf is "" when not templated
	templated bool
	tenant    string // the GUID inside a concrete issuer, lowercase, or ""
	v1        bool   // learned from the v1.0 metadata (tokens not held to key issuers)
	display   string
}

// match reports whether iss is this issuer for tenant tid.
func (is *issuer) match(iss, tid string) bool {
	if !is.templated {
		return iss == is.pre
	}
	// A template needs a tenant: "https://sts.windows.net//" with no tid
	// must not match "https://sts.windows.net/{tenantid}/".
	return tid != "" && len(iss) == len(is.pre)+len(tid)+len(is.suf) &&
		strings.HasPrefix(iss, is.pre) && strings.HasSuffix(iss, is.suf) &&
		iss[len(is.pre):len(iss)-len(is.suf)] == tid
}

func newIssuer(s string, v1 bool) issuer {
	is := issuer{display: s, v1: v1}
	if pre, suf, ok := strings.Cut(s, tenantTemplate); ok {
		is.pre, is.suf, is.templated = pre, suf, true
		return is
	}
	is.pre = s
	for part := range strings.SplitSeq(s, "/") {
		if guid.Is(part) {
			is.tenant = strings.ToLower(part)
			break
		}
	}
	return is
}

// fetchError is a fetch that failed; it names the URL but holds no body.
type fetchError struct {
	url        string
	status     int
	retryAfter time.Duration // the answer's Retry-After (429, 503), if any
	err        error
}

func (e *fetchError) Error() string {
	if e.err != nil {
		return "fetching " + e.url + ": " + e.err.Error()
	}
	return fmt.Sprintf("fetching %s: HTTP status %d", e.url, e.status)
}

func (e *fetchError) Unwrap() error { return e.err }

// fetch GETs url with a bounded time and body. The answer must be 200 and
// at most maxDocumentSize bytes; the content type is not checked, the JSON is.
func fetch(ctx context.Context, s *settings, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &fetchError{url: url, err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "entraguard")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, &fetchError{url: url, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused, never much.
		_, _ = io.CopyN(io.Discard, resp.Body, 4096)
		return nil, &fetchError{url: url, status: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, &fetchError{url: url, err: err}
	}
	if len(body) > maxDocumentSize {
		return nil, &fetchError{url: url, err: fmt.Errorf("document larger than %d bytes", maxDocumentSize)}
	}
	if !json.Valid(body) {
		return nil, &fetchError{url: url, err: errors.New("document is not JSON")}
	}
	return body, nil
}

// parseMetadata reads and checks an OpenID metadata document.
func parseMetadata(body []byte) (*metadata, error) {
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("metadata is not an OpenID configuration: %w", err)
	}
	if m.Issuer == "" {
		return nil, errors.New("metadata has no issuer")
	}
	if m.JWKSURI == "" {
		return nil, errors.New("metadata has no jwks_uri")
	}
	if _, err := checkURL("jwks_uri", m.JWKSURI); err != nil {
		return nil, errors.New("metadata jwks_uri is not an https URL")
	}
	return &m, nil
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date;
// it returns 0 when there is none or it cannot be read.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}
