package entraguard_test

// The snippets of docs/other-routers.md, run as tests: chi, huma and an
// ogen security handler. Each API is protected as the docs show and must
// answer as entraguard's net/http reference does.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/go-chi/chi/v5"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// ---- chi (docs/other-routers.md#chi) --------------------------------------

func chiAPI(v *entra.Validator) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	r.Route("/api", func(r chi.Router) {
		r.Use(entra.Middleware(v)) // chi middleware is func(http.Handler) http.Handler
		r.With(entra.RequireScope("Orders.Read").Middleware).Get("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
			claims, _ := entra.ClaimsFromContext(r.Context())
			json.NewEncoder(w).Encode(map[string]string{"order": chi.URLParam(r, "id"), "for": claims.ObjectID()})
		})
	})
	return r
}

// ---- huma (docs/other-routers.md#huma) ------------------------------------

// humaAuth authenticates every operation of a huma API: it reads the bearer
// token, makes the middleware's decision and writes entraguard's own
// RFC 6750 answer when it refuses.
func humaAuth(auth *entra.Authenticator) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		token, ok := strings.CutPrefix(ctx.Header("Authorization"), "Bearer ")
		if !ok {
			token = ""
		}
		c, _, err := auth.AuthenticateToken(ctx.Context(), token)
		if err != nil {
			writeHuma(ctx, entra.ResponseFor(c, err))
			return
		}
		next(huma.WithContext(ctx, c))
	}
}

// humaRequire is a per-operation guard (huma.Operation.Middlewares).
func humaRequire(reqs ...entra.Requirement) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if resp := entra.AuthorizeRoute(ctx.Context(), ctx.Operation().Path, reqs...); resp != nil {
			writeHuma(ctx, resp)
			return
		}
		next(ctx)
	}
}

func writeHuma(ctx huma.Context, resp *entra.Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			ctx.SetHeader(k, v)
		}
	}
	ctx.SetStatus(resp.Status)
	ctx.BodyWriter().Write(resp.Body)
}

type orderOutput struct {
	Body struct {
		Order string `json:"order"`
		For   string `json:"for"`
	}
}

func humaAPI(v *entra.Validator) http.Handler {
	mux := http.NewServeMux()
	api := humago.New(mux, huma.DefaultConfig("Orders", "1.0.0"))
	api.UseMiddleware(humaAuth(entra.NewAuthenticator(v)))
	huma.Register(api, huma.Operation{
		OperationID: "get-order",
		Method:      http.MethodGet,
		Path:        "/api/orders/{id}",
		Middlewares: huma.Middlewares{humaRequire(entra.RequireScope("Orders.Read"))},
	}, func(ctx context.Context, in *struct {
		ID string `path:"id"`
	}) (*orderOutput, error) {
		claims, _ := entra.ClaimsFromContext(ctx)
		out := &orderOutput{}
		out.Body.Order, out.Body.For = in.ID, claims.ObjectID()
		return out, nil
	})
	return mux
}

// ---- ogen (docs/other-routers.md#ogen) ------------------------------------

// The types ogen generates for an operation secured by an HTTP bearer
// scheme named "bearerAuth" (oas_security_gen.go), spelled out here so the
// snippet runs without generating code.
type (
	ogenOperationName = string
	ogenBearerAuth    struct {
		Token string
		Roles []string
	}
	ogenSecurityHandler interface {
		HandleBearerAuth(ctx context.Context, operationName ogenOperationName, t ogenBearerAuth) (context.Context, error)
	}
)

// security is the snippet: an ogen SecurityHandler that makes the
// middleware's decision and a per-operation requirement.
type security struct {
	auth  *entra.Authenticator
	rules map[string]entra.Requirement // by operation name
}

func (s security) HandleBearerAuth(ctx context.Context, op ogenOperationName, t ogenBearerAuth) (context.Context, error) {
	ctx, claims, err := s.auth.AuthenticateToken(ctx, t.Token)
	if err != nil {
		return nil, err // an *entra.Error: map it with auth.Response in ogen's ErrorHandler
	}
	if req, ok := s.rules[op]; ok {
		if err := req.Check(claims); err != nil {
			return nil, err
		}
	}
	return ctx, nil
}

var _ ogenSecurityHandler = security{}

// ---- the tests ------------------------------------------------------------

func TestOtherRouters(t *testing.T) {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ref := adaptertest.ReferenceAPI(t, v)

	read := authority.UserToken("Orders.Read")
	other := authority.UserToken("Profile.Read")
	idToken := authority.Mint(entratest.Token{})
	for name, api := range map[string]http.Handler{"chi": chiAPI(v), "huma": humaAPI(v)} {
		t.Run(name, func(t *testing.T) {
			do := func(h http.Handler, path, token string) *http.Response {
				req := httptest.NewRequest("GET", path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Result()
			}
			res := do(api, "/api/orders/42", read)
			var body struct{ Order, For string }
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 || body.Order != "42" || body.For != authority.UserObjectID {
				t.Fatalf("with Orders.Read: %d %+v %v", res.StatusCode, body, err)
			}
			for _, tc := range []struct {
				name, token string
				code        entra.Code
			}{
				{"no token", "", entra.CodeTokenMissing},
				{"malformed", "a.b.c", entra.CodeTokenMalformed},
				{"no scp or roles", idToken, entra.CodeNoScopeOrRole},
				{"another scope", other, entra.CodeForbidden},
			} {
				got := adaptertest.AssertRefusal(t, do(api, "/api/orders/42", tc.token), tc.code)
				// The same answer as the net/http reference, for the codes
				// the middleware itself decides.
				if tc.code != entra.CodeForbidden {
					want := adaptertest.ReadRefusal(t, do(ref, "/api/me", tc.token))
					if got != want {
						t.Errorf("%s: %+v, want the reference's %+v", tc.name, got, want)
					}
				}
			}
		})
	}

	t.Run("ogen", func(t *testing.T) {
		var h ogenSecurityHandler = security{
			auth:  entra.NewAuthenticator(v),
			rules: map[string]entra.Requirement{"getOrder": entra.RequireScope("Orders.Read")},
		}
		ctx, err := h.HandleBearerAuth(context.Background(), "getOrder", ogenBearerAuth{Token: read})
		if err != nil {
			t.Fatalf("with Orders.Read: %v", err)
		}
		if c, ok := entra.ClaimsFromContext(ctx); !ok || c.ObjectID() != authority.UserObjectID {
			t.Fatal("the context does not carry the caller")
		}
		for _, tc := range []struct {
			token string
			want  error
		}{{"", entra.ErrTokenMissing}, {idToken, entra.ErrNoScopeOrRole}, {other, entra.ErrForbidden}} {
			if _, err := h.HandleBearerAuth(context.Background(), "getOrder", ogenBearerAuth{Token: tc.token}); !errors.Is(err, tc.want) {
				t.Errorf("HandleBearerAuth = %v, want %v", err, tc.want)
			}
		}
	})
}
