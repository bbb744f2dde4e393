package entra

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// v1GoneAfter is how long the v1.0 metadata must keep answering 404 before
// a validator that had a v1.0 issuer believes the authority dropped it (as
// Microsoft.IdentityModel keeps a last known good issuer for 24 hours).
const v1GoneAfter = 24 * time.Hour

// metaState is what a source remembers between metadata refreshes. Only the
// goroutine running load touches it; loads never overlap.
type metaState struct {
	// err is why the last metadata refresh kept some last known good
	// value, or nil. The background loop then retries with backoff.
	err error
	// v1MissingSince is when the v1.0 metadata started answering 404
	// while a v1.0 issuer was known (UnixNano), or zero. Atomic for tests.
	v1MissingSince atomic.Int64
}

// metaResult is what the metadata documents say, after falling back to the
// last known good values.
type metaResult struct {
	issuers      []issuer
	jwksURL      string
	authorizeURL string
	cloud        string // the v2.0 (or MetadataURL) document's cloud_instance_name
}

// fetchMetadata fetches the metadata documents. A document that fails, or
// names a malformed issuer, keeps the values of the last good snapshot: a
// refresh never replaces a known good issuer or jwks_uri with nothing.
// Without a last good snapshot any failure fails the refresh, except a 404
// of the v1.0 document (the authority serves v2.0 tokens only).
func (src *source) fetchMetadata(ctx context.Context, prev *snapshot) (metaResult, bool, error) {
	urls := src.s.metadataURLs
	docs := make([]*metadata, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			body, err := fetch(ctx, src.s, u)
			if err == nil {
				docs[i], err = parseMetadata(body)
				if err == nil {
					err = checkIssuer(docs[i].Issuer)
				}
				if err != nil {
					err = &fetchError{url: u, err: err}
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()

	var prevV2, prevV1 *issuer
	if prev != nil {
		for i := range prev.issuers {
			if prev.issuers[i].v1 {
				prevV1 = &prev.issuers[i]
			} else if prevV2 == nil {
				prevV2 = &prev.issuers[i]
			}
		}
	}
	var res metaResult
	var degraded []error
	if errs[0] != nil {
		if prevV2 == nil {
			return res, false, errors.Join(errs...)
		}
		src.s.logger.Warn("entra: refreshing the metadata failed; keeping its last good issuer and jwks_uri", "error", errs[0].Error())
		degraded = append(degraded, errs[0])
		res.issuers = append(res.issuers, *prevV2)
		res.jwksURL, res.authorizeURL, res.cloud = prev.jwksURL, prev.authorizeURL, prev.cloud
	} else {
		d := docs[0]
		res.issuers = append(res.issuers, newIssuer(d.Issuer, false))
		res.jwksURL, res.authorizeURL, res.cloud = d.JWKSURI, d.AuthorizationEndpoint, d.CloudInstanceName
		if src.s.appKeys {
			u, err := url.Parse(res.jwksURL)
			if err != nil {
				return res, false, err
			}
			q := u.Query()
			q.Set("appid", src.s.clientID)
			u.RawQuery = q.Encode()
			res.jwksURL = u.String()
		}
	}
	if len(urls) == 2 {
		var fe *fetchError
		notFound := errors.As(errs[1], &fe) && fe.status == http.StatusNotFound
		switch {
		case errs[1] == nil:
			src.meta.v1MissingSince.Store(0)
			res.issuers = append(res.issuers, newIssuer(docs[1].Issuer, true))
		case prevV1 != nil && notFound && src.meta.v1MissingSince.Load() == 0:
			src.meta.v1MissingSince.Store(time.Now().UnixNano())
			fallthrough
		case prevV1 != nil && (!notFound || time.Since(time.Unix(0, src.meta.v1MissingSince.Load())) < v1GoneAfter):
			src.s.logger.Warn("entra: refreshing the v1.0 metadata failed; keeping its last good issuer", "error", errs[1].Error())
			degraded = append(degraded, errs[1])
			res.issuers = append(res.issuers, *prevV1)
		case prevV1 != nil:
			src.s.logger.Warn("entra: the v1.0 metadata has answered 404 for a day; accepting v2.0 tokens only")
		case notFound:
			src.s.logger.Info("entra: the authority has no v1.0 metadata; accepting v2.0 tokens only")
		case prev == nil:
			return res, false, errors.Join(errs...)
		default:
			// The last good state had no v1.0 issuer: it still has none.
			degraded = append(degraded, errs[1])
		}
	}
	src.meta.err = errors.Join(degraded...)
	return res, len(degraded) == 0, nil
}

// checkIssuer refuses an issuer that no Entra token can carry: not an
// absolute https URL (http only for a loopback emulator), or with more
// than one {tenantid}.
func checkIssuer(iss string) error {
	if strings.TrimSpace(iss) != iss || strings.Count(iss, tenantTemplate) > 1 {
		return errors.New("metadata names a malformed issuer")
	}
	if _, err := checkURL("issuer", strings.Replace(iss, tenantTemplate, "t", 1)); err != nil {
		return errors.New("metadata names a malformed issuer")
	}
	return nil
}

// sameIssuers reports whether two snapshots accept the same issuers.
func sameIssuers(a, b []issuer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].display != b[i].display || a[i].v1 != b[i].v1 {
			return false
		}
	}
	return true
}
