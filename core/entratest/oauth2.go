package entratest

import "net/http"

// serveToken answers the OAuth 2.0 token endpoint (EndpointToken, v2.0 and
// v1.0 paths). The fake authority issues no tokens over HTTP: tests mint
// them with [Server.Mint], so the endpoint answers 404.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	answerJSON(w, http.StatusNotFound, noStore, map[string]string{
		"error":             "not_found",
		"error_description": "entratest: the token endpoint is not served; mint tokens with Server.Mint",
	})
}
