package entra

import (
	"errors"
	"time"
)

// Code identifies a class of failure. Codes are stable: they appear in logs,
// metrics and the docs' troubleshooting table, and are safe to show callers.
type Code string

// The failure codes. Each has a sentinel error for errors.Is.
const (
	CodeConfigInvalid          Code = "config_invalid"
	CodeInvalidRequest         Code = "invalid_request"
	CodeTokenMissing           Code = "token_missing"
	CodeTokenMalformed         Code = "token_malformed"
	CodeTokenUnsupported       Code = "token_unsupported"
	CodeAlgorithmNotAllowed    Code = "algorithm_not_allowed"
	CodeFirstPartyToken        Code = "first_party_token"
	CodeUnknownKey             Code = "unknown_key"
	CodeSignatureInvalid       Code = "signature_invalid"
	CodeTokenExpired           Code = "token_expired"
	CodeTokenNotYetValid       Code = "token_not_yet_valid"
	CodeClaimMissing           Code = "claim_missing"
	CodeIssuerInvalid          Code = "issuer_invalid"
	CodeAudienceInvalid        Code = "audience_invalid"
	CodeTenantNotAllowed       Code = "tenant_not_allowed"
	CodeTokenVersionNotAllowed Code = "token_version_not_allowed"
	CodeNoScopeOrRole          Code = "no_scope_or_role"
	CodeForbidden              Code = "forbidden"
	CodeGroupsOverage          Code = "groups_overage"
	CodeInsufficientClaims     Code = "insufficient_claims"
	CodeKeysUnavailable        Code = "keys_unavailable"
	// CodeTokenRevoked: the token is valid but listed in Config.Revocations.
	CodeTokenRevoked Code = "token_revoked"
	// CodeRevocationsUnavailable: the revocation list is too stale to vouch
	// for any token, and its owner chose to refuse then (503).
	CodeRevocationsUnavailable Code = "revocations_unavailable"

	// CodeOIDMissing: the token has no oid (service-principal-less
	// authentication, which Entra blocks since March 2026); see
	// Config.AllowMissingObjectID.
	CodeOIDMissing Code = "oid_missing"
	// CodeIDTokenNotAccepted: the payload has a nonce, so it is an ID token,
	// and the API did not opt in to ID tokens (WithoutScopeOrRoleCheck).
	CodeIDTokenNotAccepted Code = "id_token_not_accepted"
	// CodeUserFlowNotAllowed: an Azure AD B2C token of another user flow than the
	// validator's; see Config.B2CUserFlows.
	CodeUserFlowNotAllowed Code = "user_flow_not_allowed"
	// CodeAgentNotAllowed: the token is a Microsoft Entra Agent ID agent's
	// and the route or API refuses agents (DenyAgents, WithoutAgents).
	CodeAgentNotAllowed Code = "agent_not_allowed"

	// CodeTokenBound: the token is bound to a certificate or key (it has a
	// cnf claim) and was presented as a bearer token, or with MTLS_POP to
	// an API that does not verify the binding; see WithMTLSBinding.
	CodeTokenBound Code = "token_bound"
	// CodeTokenBindingInvalid: a token presented with MTLS_POP is not bound
	// to the client certificate of the request (no certificate, another
	// certificate, or a token without cnf x5t#S256).
	CodeTokenBindingInvalid Code = "token_binding_invalid"
	// CodeAuthContextRequired: the route requires a Conditional Access
	// authentication context ([RequireAuthContext]) that the token's acrs
	// lacks. A client that declared it can handle claims challenges (xms_cc
	// "cp1") gets a 401 insufficient_claims challenge asking for the
	// context; any other caller a 403 naming it.
	CodeAuthContextRequired Code = "auth_context_required"
	// CodeInternal: the error is not an *Error (a bug, a failure of the
	// app's own code): the answer is a 500 that tells the client nothing
	// of the cause. Logs, metrics and RPC statuses name it "internal".
	CodeInternal Code = "internal"
)

// Sentinels, one per Code of a refusal (CodeInternal, which names an error
// that is not an *Error, has none): errors.Is(err, entra.ErrTokenExpired)
// is true for every *Error whose Code is CodeTokenExpired.
var (
	ErrConfigInvalid          = &Error{Code: CodeConfigInvalid}
	ErrInvalidRequest         = &Error{Code: CodeInvalidRequest}
	ErrTokenMissing           = &Error{Code: CodeTokenMissing}
	ErrTokenMalformed         = &Error{Code: CodeTokenMalformed}
	ErrTokenUnsupported       = &Error{Code: CodeTokenUnsupported}
	ErrAlgorithmNotAllowed    = &Error{Code: CodeAlgorithmNotAllowed}
	ErrFirstPartyToken        = &Error{Code: CodeFirstPartyToken}
	ErrUnknownKey             = &Error{Code: CodeUnknownKey}
	ErrSignatureInvalid       = &Error{Code: CodeSignatureInvalid}
	ErrTokenExpired           = &Error{Code: CodeTokenExpired}
	ErrTokenNotYetValid       = &Error{Code: CodeTokenNotYetValid}
	ErrClaimMissing           = &Error{Code: CodeClaimMissing}
	ErrIssuerInvalid          = &Error{Code: CodeIssuerInvalid}
	ErrAudienceInvalid        = &Error{Code: CodeAudienceInvalid}
	ErrTenantNotAllowed       = &Error{Code: CodeTenantNotAllowed}
	ErrTokenVersionNotAllowed = &Error{Code: CodeTokenVersionNotAllowed}
	ErrNoScopeOrRole          = &Error{Code: CodeNoScopeOrRole}
	ErrForbidden              = &Error{Code: CodeForbidden}
	ErrGroupsOverage          = &Error{Code: CodeGroupsOverage}
	ErrInsufficientClaims     = &Error{Code: CodeInsufficientClaims}
	ErrKeysUnavailable        = &Error{Code: CodeKeysUnavailable}

	ErrOIDMissing         = &Error{Code: CodeOIDMissing}
	ErrIDTokenNotAccepted = &Error{Code: CodeIDTokenNotAccepted}
	ErrUserFlowNotAllowed = &Error{Code: CodeUserFlowNotAllowed}
	ErrAgentNotAllowed    = &Error{Code: CodeAgentNotAllowed}

	ErrTokenBound          = &Error{Code: CodeTokenBound}
	ErrTokenBindingInvalid = &Error{Code: CodeTokenBindingInvalid}
	ErrAuthContextRequired = &Error{Code: CodeAuthContextRequired}

	ErrTokenRevoked           = &Error{Code: CodeTokenRevoked}
	ErrRevocationsUnavailable = &Error{Code: CodeRevocationsUnavailable}
)

// Error is the one error type of this package. Its Description is written
// for the caller of the API: it says what is wrong and what to fix, and never
// contains the token, its signature or key material. Err, when set, is the
// internal cause (a network error, say); it is for logs, never for callers.
type Error struct {
	// Code classifies the failure; see the Code constants.
	Code Code
	// Description is a safe, human-readable explanation.
	Description string
	// Err is the underlying cause, if any. It is not shown to callers.
	Err error
	// Scopes are the delegated scopes that would satisfy a failed
	// requirement; sent as the scope parameter of an insufficient_scope answer.
	Scopes []string
	// Claims is the claims challenge (JSON) of an insufficient_claims answer.
	Claims string
	// RetryAfter is, for CodeKeysUnavailable and CodeRevocationsUnavailable,
	// how long a caller should wait.
	RetryAfter time.Duration

	// reported: the refusal was reported to its Authenticator's logger and
	// hooks already (AuthenticateToken), so ResponseFor does not again.
	reported bool
}

// Error returns "entra: " followed by the description (or the code) and the cause.
func (e *Error) Error() string {
	msg := e.Description
	if msg == "" {
		msg = string(e.Code)
	}
	if e.Err != nil {
		return "entra: " + msg + ": " + e.Err.Error()
	}
	return "entra: " + msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that the
// sentinels (ErrTokenExpired, ...) match every error of their class.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the Code of the first *Error in err's chain, or "" if there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code Code, desc string) *Error {
	return &Error{Code: code, Description: desc}
}
