package entra

import "encoding/base64"

// ChallengeClaims returns the claims parameter of a claims challenge: the
// standard base64 of the JSON claims request that st.Challenge carries
// (e.g. {"access_token":{"acrs":{"essential":true,"value":"c1"}}} from
// [RequireAuthContext]), which the gRPC and Connect interceptors also put
// in their google.rpc.ErrorInfo detail as metadata "claims". It is "" when
// st is not a claims challenge.
func (st *RPCStatus) ChallengeClaims() string {
	if st == nil || st.Code != RPCUnauthenticated || st.Err == nil || st.Err.Claims == "" || !challengeable(st.Err.Code) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(st.Err.Claims))
}
