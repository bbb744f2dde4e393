package emulator

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestPendingStateIsBounded: device codes nobody redeems (a client that
// loops, or a flood) cannot grow the emulator's memory without bound.
func TestPendingStateIsBounded(t *testing.T) {
	e, err := New(Config{Apps: []App{{ClientID: "cli", Type: AppPublic, RedirectURIs: []string{"http://localhost"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.SetURL("http://127.0.0.1:1")
	body := url.Values{"client_id": {"cli"}, "scope": {"openid"}}.Encode()
	for i := range maxPending + 500 {
		r := httptest.NewRequest(http.MethodPost, "/"+e.cfg.TenantID+"/oauth2/v2.0/devicecode", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	e.mu.Lock()
	n := len(e.devices)
	e.mu.Unlock()
	if n > maxPending {
		t.Errorf("%d device flows held, want at most %d", n, maxPending)
	}
}
