package entra

import "strings"

// For adapter authors: ErrorInfoMetadata returns the metadata of the
// google.rpc.ErrorInfo detail that the gRPC and Connect interceptors attach
// to the refusal st, so that every RPC adapter says the same: "scope", the
// scopes that would satisfy the rule (space-separated), for
// PermissionDenied; "claims", [RPCStatus.ChallengeClaims], for a claims
// challenge; nil when there is neither.
func (st *RPCStatus) ErrorInfoMetadata() map[string]string {
	if c := st.ChallengeClaims(); c != "" {
		return map[string]string{"claims": c}
	}
	if st != nil && st.Code == RPCPermissionDenied && st.Err != nil && len(st.Err.Scopes) > 0 {
		return map[string]string{"scope": strings.Join(st.Err.Scopes, " ")}
	}
	return nil
}
