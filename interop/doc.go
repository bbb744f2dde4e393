// Package interop holds tests only: they drive Microsoft's own Go client
// libraries, MSAL Go (apps/confidential) and azidentity, unmodified,
// against the fake Entra ID authority of entratest on TLS, and check that
// entraguard's validator and middleware accept the tokens they get. The
// emulator's tests also run Microsoft's Node clients (MSAL Node,
// @azure/identity; the npm project in node/, pinned by its lock file) and a
// MSAL Browser page in Debian's headless Chromium (chromedp).
//
// It is a module of its own so that MSAL and azidentity never reach the
// go.sum of entraguard's users: core and the adapters do not depend on
// them. docs/testing.md describes the set-up the tests use.
package interop
