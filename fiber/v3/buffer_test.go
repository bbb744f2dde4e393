package entrafiber_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v3"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entrafiber "github.com/entraguard/entraguard/fiber/v3"
)

// kept is what a handler keeps from a request after it ends.
type kept struct {
	claims *entra.Claims
	raw    []byte
	oid    string
	name   string
	scopes []string
	// What the adapter hands to the core for this request.
	auth   []string
	path   string
	query  string
	cookie string
}

// TestBufferReuse checks that nothing the adapter hands to the core, nor
// the claims and their strings, is a view of fasthttp's request buffers,
// which fasthttp reuses for the next request on the connection once the
// handler returns: values kept from a first request must not change while
// many other requests, with other tokens, paths, queries and cookies, go
// through the same keep-alive connection.
func TestBufferReuse(t *testing.T) {
	srv, v := authority(t)
	app := newApp()
	var (
		mu    sync.Mutex
		first *kept
	)
	app.Get("/items/:id", entrafiber.Authenticate(v), func(c fiber.Ctx) error {
		claims, _ := entrafiber.Claims(c)
		req := entrafiber.NewRequest(c)
		k := &kept{
			claims: claims,
			raw:    claims.RawJSON(),
			oid:    claims.ObjectID(),
			name:   claims.Name(),
			scopes: claims.Scopes(),
			auth:   req.HeaderValues("Authorization"),
			path:   req.Path(),
			query:  req.Query("q"),
			cookie: req.Cookie("pref"),
		}
		mu.Lock()
		if first == nil {
			first = k
		}
		mu.Unlock()
		return c.SendString(k.oid)
	})
	base, client := listen(t, app)

	var reused int
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			reused++
		}
	}}
	send := func(i int, tok entratest.Token, raw string) {
		t.Helper()
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/items/%04d?q=query-%04d", base, i, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		req.Header.Set("Authorization", "Bearer "+raw)
		req.Header.Set("Cookie", fmt.Sprintf("pref=cookie-%04d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != tok.ObjectID {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, got, tok.ObjectID)
		}
	}

	tok0 := entratest.Token{ObjectID: "00000000-1111-2222-3333-444444444444", Name: "First Caller 0000", Scopes: []string{"Orders.Read", "Orders.Write"}}
	tok0Raw := srv.Mint(tok0)
	send(0, tok0, tok0Raw)
	mu.Lock()
	k := *first
	mu.Unlock()
	wantRaw := bytes.Clone(k.raw)
	if len(k.auth) != 1 || k.path != "/items/0000" || k.query != "query-0000" || k.cookie != "cookie-0000" {
		t.Fatalf("first request read as auth %d values, path %q, query %q, cookie %q", len(k.auth), k.path, k.query, k.cookie)
	}

	const n = 200
	for i := 1; i <= n; i++ {
		tok := entratest.Token{
			ObjectID: fmt.Sprintf("99999999-8888-7777-6666-%012d", i),
			Name:     fmt.Sprintf("Other Caller %04d", i),
			Scopes:   []string{"Orders.Xxxx", "Orders.Yyyyy"},
		}
		send(i, tok, srv.Mint(tok))
	}
	if reused < n {
		t.Fatalf("only %d of %d requests reused the connection; the test needs fasthttp to reuse its buffers", reused, n)
	}

	mu.Lock()
	defer mu.Unlock()
	if k.claims != first.claims {
		t.Fatal("the first request's record was replaced")
	}
	checks := []struct {
		what      string
		got, want string
	}{
		{"claims.ObjectID()", k.claims.ObjectID(), tok0.ObjectID},
		{"kept ObjectID()", k.oid, tok0.ObjectID},
		{"claims.Name()", k.claims.Name(), tok0.Name},
		{"kept Name()", k.name, tok0.Name},
		{"claims.Scopes()", fmt.Sprint(k.claims.Scopes()), fmt.Sprint(tok0.Scopes)},
		{"kept Scopes()", fmt.Sprint(k.scopes), fmt.Sprint(tok0.Scopes)},
		{"claims.RawJSON()", string(k.claims.RawJSON()), string(wantRaw)},
		{"Authorization values", fmt.Sprint(k.auth), fmt.Sprint([]string{"Bearer " + tok0Raw})},
		{"Path()", k.path, "/items/0000"},
		{"Query()", k.query, "query-0000"},
		{"Cookie()", k.cookie, "cookie-0000"},
	}
	for _, c := range checks {
		if c.got != c.want {
			i := 0
			for i < len(c.got) && i < len(c.want) && c.got[i] == c.want[i] {
				i++
			}
			t.Errorf("%s changed after the request from byte %d: %.30q, want %.30q", c.what, i, c.got[i:], c.want[i:])
		}
	}
}
