package entratest

import (
	"fmt"
	"net"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/internal/guid"
)

// An Option configures a [Server] built by [NewServer] or [NewUnstartedServer].
type Option interface {
	apply(*options)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// options is the set-up of a Server before it is built.
type options struct {
	tenantID    string
	tenantIDSet bool
	clientID    string
	clientIDSet bool
	keyBits     int
	noX5C       bool
	now         func() time.Time
	listener    net.Listener
	version     string // accessTokenAcceptedVersion of the API under test
}

// DefaultKeyBits is the size of the RSA keys a [Server] signs with unless
// [WithKeyBits] says otherwise. It is the size Entra ID uses.
const DefaultKeyBits = 2048

// WithTenantID sets [Server.TenantID], the home tenant of the fake authority,
// which must be a GUID such as "72f988bf-86f1-41af-91ab-2d7cd011db47".
// Default: a random GUID, different for every server.
// NewServer panics if id is not a GUID.
func WithTenantID(id string) Option {
	return optionFunc(func(o *options) { o.tenantID, o.tenantIDSet = id, true })
}

// WithClientID sets [Server.ClientID], the application (client) ID of the
// API under test: the default audience of minted tokens and the ClientID of
// [Server.Config]. Default: a random GUID, different for every server.
// NewServer panics if id is empty or contains white space.
func WithClientID(id string) Option {
	return optionFunc(func(o *options) { o.clientID, o.clientIDSet = id, true })
}

// WithKeyBits sets the size of the server's RSA signing keys. Default:
// [DefaultKeyBits] (2048), whose keys come from a process-wide pool so that
// many servers start fast; other sizes are generated for each server.
// NewServer panics if bits is outside 1024 to 8192.
func WithKeyBits(bits int) Option {
	return optionFunc(func(o *options) { o.keyBits = bits })
}

// WithoutX5C publishes keys with their modulus and exponent (n, e) only,
// without x5c and x5t, as Azure AD B2C does. Default: keys carry both n/e
// and an x5c certificate, as Entra ID's do.
func WithoutX5C() Option {
	return optionFunc(func(o *options) { o.noX5C = true })
}

// WithClock sets the clock from which minted tokens take their default
// iat, nbf and exp, and key certificates their validity. Pair it with the
// validator's own clock (entra.Config.Now) to test time without sleeping.
// Default: time.Now. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) {
		if now != nil {
			o.now = now
		}
	})
}

// WithListener makes the server serve on l instead of a random loopback
// port: to serve on a fixed port, or on an address other machines can
// reach. The server closes l when it closes. A listener on an unspecified
// address (":8400", "0.0.0.0:8400") gets the URL "http://127.0.0.1:8400".
// A nil listener is ignored.
func WithListener(l net.Listener) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.listener = l
		}
	})
}

// WithAccessTokenVersion sets the version of the access tokens the API
// under test accepts, as its app registration's accessTokenAcceptedVersion
// does: "2.0" (accessTokenAcceptedVersion 2) or "1.0" (null or 1, Entra
// ID's default for a new registration). It is the version of the tokens the
// token endpoint issues for the API and the default [Token.Version] of
// [Server.Mint]. v1.0 tokens are issued by "https://sts.windows.net/{tid}/",
// name the calling app in appid and carry the audience the client asked
// for ("api://{ClientID}" when it asked for "api://{ClientID}/.default").
// Default: "2.0". NewServer panics on another value.
func WithAccessTokenVersion(version string) Option {
	return optionFunc(func(o *options) { o.version = version })
}

func buildOptions(opts []Option) options {
	o := options{keyBits: DefaultKeyBits, now: time.Now, version: entra.Version2}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if !o.tenantIDSet {
		o.tenantID = NewGUID()
	} else if !guid.Is(o.tenantID) {
		panic(fmt.Sprintf("entratest: WithTenantID(%q): a tenant ID is a GUID such as %q", o.tenantID, "72f988bf-86f1-41af-91ab-2d7cd011db47"))
	}
	o.tenantID = strings.ToLower(o.tenantID)
	if !o.clientIDSet {
		o.clientID = NewGUID()
	} else if strings.TrimSpace(o.clientID) == "" || strings.ContainsAny(o.clientID, " \t\r\n") {
		panic(fmt.Sprintf("entratest: WithClientID(%q): a client ID is a GUID or an identifier without spaces", o.clientID))
	}
	if o.version != entra.Version1 && o.version != entra.Version2 {
		panic(fmt.Sprintf("entratest: WithAccessTokenVersion(%q): use %q or %q", o.version, entra.Version2, entra.Version1))
	}
	if o.keyBits < 1024 || o.keyBits > 8192 {
		panic(fmt.Sprintf("entratest: WithKeyBits(%d): use 1024 to 8192 bits (default %d)", o.keyBits, DefaultKeyBits))
	}
	return o
}
