package entra

import (
	"errors"
	"strconv"
	"time"
)

// A fresh sign-in after a revocation.
//
// Entra dates a token's iat (and nbf, equal to it) five minutes back from
// the moment it issues the token, for clock skew: every real token has
// exp - iat = lifetime + 5 min. A token issued at I has iat = I - 5 min,
// so against a cut-off T it passes on iat alone only when I >= T + 5 min.
// A client that handles claims challenges (xms_cc "cp1") need not wait:
// the refusal asks it, as Continuous Access Evaluation does, for a token
// whose nbf is at or after T, and Entra issues such a token at or after T.
// Its nbf proves that only together with its iat: a token issued at I has
// iat = I - 5 min, so nbf <= iat + 5 min means nbf <= I, and nbf >= T then
// gives I >= T. A token with an nbf further ahead of its iat (one asked
// for a future nbf before the revocation) proves nothing and is refused.

// entraBackdate is how far Entra dates iat and nbf back from the moment
// it issues a token.
const entraBackdate = 5 * time.Minute

// issuedAfter reports whether c proves it was issued at or after before
// (Unix seconds): its iat is at or after it, or its nbf is at or after it
// and at most entraBackdate after its iat. A token without iat proves
// nothing.
func issuedAfter(c *Claims, before int64) bool {
	if c.issuedAt.IsZero() {
		return false
	}
	iat := c.issuedAt.Unix()
	if iat >= before {
		return true
	}
	if c.notBefore.IsZero() {
		return false
	}
	nbf := c.notBefore.Unix()
	return nbf >= before && nbf-iat <= int64(entraBackdate/time.Second)
}

// Revoked implements [Revocations]: it returns an *Error with Code
// [CodeTokenRevoked] (401) when an unexpired entry matches c, else nil.
//
// A refusal by a user, app or tenant entry tells the caller when a new
// token passes:
//   - to a client that handles claims challenges (xms_cc holds "cp1"):
//     401 with error="insufficient_claims" and the claims
//     {"access_token":{"nbf":{"essential":true,"value":"<cut-off, Unix seconds>"}}}
//     of Continuous Access Evaluation, so that the token it requests next
//     passes at once (see [Revocation.IssuedBefore]);
//   - to any other client: 401 invalid_token whose description says that a
//     token Entra issues five minutes or more after the revocation passes
//     (Entra dates tokens five minutes back).
//
// A cut-off more than a minute ahead refuses every token until then, and
// the description names the time from which a new token passes.
func (l *RevocationList) Revoked(c *Claims, now time.Time) error {
	err := l.revoked(c, now)
	if err == nil {
		return nil
	}
	return freshSignIn(c, now, err)
}

// freshWords word the refusals of the cut-off kinds: who is refused, and
// what to do once a new token can pass.
var freshWords = map[RevocationKind]struct{ who, then string }{
	RevocationUser:   {"the tokens of this user or app", "sign in again then, bypassing the client's token cache"},
	RevocationApp:    {"the tokens of the calling application", "get one once its credentials are replaced"},
	RevocationTenant: {"the tokens of this tenant", "sign in again then, bypassing the client's token cache"},
}

// freshSignIn words the refusal err of a cut-off entry (see Revoked); any
// other error is returned as it is.
func freshSignIn(c *Claims, now time.Time, err error) error {
	var e *Error
	var re *revokedError
	if !errors.As(err, &e) || e.Code != CodeTokenRevoked || !errors.As(e.Err, &re) || re.r.IssuedBefore.IsZero() {
		return err
	}
	w, ok := freshWords[re.r.Kind]
	if !ok {
		return err
	}
	cut := re.r.IssuedBefore.UTC()
	out := &Error{Code: CodeTokenRevoked, Err: e.Err}
	switch {
	case cut.Sub(now) > time.Minute:
		out.Description = w.who + " are refused until " + cut.Format(time.RFC3339) + ": a token Entra issues from " +
			cut.Add(entraBackdate).Format(time.RFC3339) + " on passes (Entra dates tokens 5 minutes back)"
	case c.HasClientCapability(CapabilityClaimsChallenge):
		out.Description = w.who + " issued before a revocation are refused: request a new token with the claims in this challenge"
		out.Claims = `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(cut.Unix(), 10) + `"}}}`
	default:
		out.Description = w.who + " issued before a revocation are refused: a token Entra issues 5 minutes or more after the revocation passes (Entra dates tokens 5 minutes back); " + w.then
	}
	return out
}
