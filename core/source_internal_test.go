package entra

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// keyDocs serves a metadata document and a key set from memory.
type keyDocs struct {
	mu   sync.Mutex
	jwks []byte
}

const (
	docsBase   = "https://login.order.test"
	docsTenant = "0d5b1e3c-7a2f-4c8d-9e6b-1f3a5c7e9b2d"
	docsMeta   = "/" + docsTenant + "/v2.0/.well-known/openid-configuration"
	docsKeys   = "/" + docsTenant + "/discovery/v2.0/keys"
)

func (d *keyDocs) setKids(pub *rsa.PublicKey, kids ...string) {
	var b bytes.Buffer
	b.WriteString(`{"keys":[`)
	for i, kid := range kids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"kty":"RSA","use":"sig","kid":"` + kid + `","e":"AQAB","n":"` + base64.RawURLEncoding.EncodeToString(pub.N.Bytes()) + `"}`)
	}
	b.WriteString(`]}`)
	d.mu.Lock()
	d.jwks = b.Bytes()
	d.mu.Unlock()
}

func (d *keyDocs) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	status := http.StatusOK
	switch r.URL.Path {
	case docsMeta:
		body = []byte(`{"issuer":"` + docsBase + `/` + docsTenant + `/v2.0","jwks_uri":"` + docsBase + docsKeys + `","authorization_endpoint":"` + docsBase + `/` + docsTenant + `/oauth2/v2.0/authorize"}`)
	case docsKeys:
		d.mu.Lock()
		body = d.jwks
		d.mu.Unlock()
	default:
		status = http.StatusNotFound
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

func kidsOf(s *snapshot) []string {
	var kids []string
	for kid := range s.keys {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}

// A refresh that starts the moment the previous one has ended (here, from
// inside the previous fetch's end, through the afterLoad seam) must never
// see its newer keys replaced by the older fetch's, nor share a generation
// with it: publications follow the order of fetches.
func TestSourcePublishesInFetchOrder(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	docs := &keyDocs{}
	docs.setKids(&key.PublicKey, "k0")
	v, err := NewValidator(Config{
		TenantID: docsTenant, ClientID: "5c7e9b2d-1f3a-4e6b-8d9c-0d5b1e3c7a2f",
		AuthorityHost: docsBase + "/", MetadataURL: docsBase + docsMeta,
		HTTPClient: &http.Client{Transport: docs}, CacheSize: -1, MinRefreshInterval: time.Nanosecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	src := v.src
	if g := src.cur.Load().gen; g != 0 {
		t.Fatalf("first generation %d, want 0", g)
	}
	var fired atomic.Bool
	var inner *snapshot
	src.afterLoad = func() {
		if !fired.CompareAndSwap(false, true) {
			return
		}
		// Fetch A has ended. Fetch B starts now, reads newer keys and
		// completes before A's goroutine goes on.
		docs.setKids(&key.PublicKey, "k2")
		ch, ok := src.start(refreshUnknownKid)
		if !ok {
			t.Error("no fetch could start once the previous one had ended")
			return
		}
		res := <-ch
		if res.Err != nil {
			t.Errorf("fetch B: %v", res.Err)
			return
		}
		inner = res.Val.(*snapshot)
	}
	docs.setKids(&key.PublicKey, "k1")
	ch, ok := src.start(refreshUnknownKid)
	if !ok {
		t.Fatal("fetch A did not start")
	}
	if res := <-ch; res.Err != nil {
		t.Fatalf("fetch A: %v", res.Err)
	}
	if !fired.Load() || inner == nil {
		t.Fatal("fetch B did not run between fetch A's end and its return")
	}
	cur := src.cur.Load()
	if got := kidsOf(cur); !slices.Equal(got, []string{"k2"}) {
		t.Errorf("published keys %q after fetches of [k1] then [k2]: the older fetch replaced the newer", got)
	}
	if cur != inner || cur.gen != 2 {
		t.Errorf("current generation %d (fetch B's %d), want 2: one per change, in order", cur.gen, inner.gen)
	}
}
