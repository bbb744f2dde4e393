package entra

import (
	"net/url"
	"strings"
)

// checkSkipPath panics at set-up unless p is a path as a request line
// carries it: absolute, percent-encoded where it must be, with neither
// query nor fragment. [WithSkipPaths] compares such paths byte for byte with
// [Request.Path], the request's escaped path, so a path written in another
// form could never match, or would match a request it does not name.
func checkSkipPath(p string) {
	u, err := url.ParseRequestURI(p)
	if err != nil || !strings.HasPrefix(p, "/") || u.RawQuery != "" || u.ForceQuery || u.EscapedPath() != p {
		panic("entra: WithSkipPaths was given " + quote(p) + ", which is not an escaped URL path: write it as the request line carries it, starting with / (e.g. \"/health/live\", \"/a%20b\"), with no query")
	}
}
