package emulator

import (
	"crypto/rand"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// deviceCodeLifetime is how long a device code may be entered: 15
// minutes, as Entra ID's expires_in 900.
const deviceCodeLifetime = 15 * time.Minute

// deviceFlow is a pending device code sign-in.
type deviceFlow struct {
	app      *App
	scopes   []string
	userCode string
	expires  time.Time
	interval time.Duration
	lastPoll time.Time
	state    string // "pending", "approved", "declined", "redeemed"
	user     *User
	sid      string
	authTime time.Time
}

// serveDeviceCode answers /{tenant}/oauth2/v2.0/devicecode for a public
// client.
func (e *Emulator) serveDeviceCode(w http.ResponseWriter, r *http.Request, tenantSeg string) {
	if r.Method == http.MethodOptions {
		corsPreflight(w, r)
		return
	}
	refuse := func(te *entratest.TokenError) { e.srv.WriteTokenError(w, r, te) }
	if r.Method != http.MethodPost {
		refuse(badRequest("invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	if !e.homeTenant(tenantSeg) {
		refuse(e.tenantNotFound(tenantSeg))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		refuse(badRequest("invalid_request", 9002313, "Invalid request. Request is malformed or invalid."))
		return
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		refuse(missing("client_id"))
		return
	}
	app := e.lookupApp(clientID)
	if app == nil {
		refuse(unknownClient(clientID, e.cfg.TenantID))
		return
	}
	if app.Type != AppPublic {
		refuse(tokenError(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The device code flow is for public clients: give the app \"type\": \"public\" in the emulator's config file."))
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if _, _, terr := e.resolveScopes(scopes, app); terr != nil {
		refuse(terr)
		return
	}
	now := e.now()
	d := &deviceFlow{app: app, scopes: scopes, userCode: userCode(), expires: now.Add(deviceCodeLifetime),
		interval: time.Duration(e.cfg.DeviceCodeInterval) * time.Second, state: "pending"}
	if e.cfg.NonInteractive {
		d.state, d.user, d.sid, d.authTime = "approved", e.defaultUser, entratest.NewGUID(), now
	}
	deviceCode := "DAQABAAEAAA" + randomString(96)
	e.mu.Lock()
	e.sweepLocked()
	e.devices[deviceCode] = d
	e.mu.Unlock()
	verify := e.srv.URL + deviceLoginPath
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        d.userCode,
		"device_code":      deviceCode,
		"verification_uri": verify,
		"expires_in":       int(deviceCodeLifetime / time.Second),
		"interval":         e.cfg.DeviceCodeInterval,
		"message":          "To sign in, use a web browser to open the page " + verify + " and enter the code " + d.userCode + " to authenticate.",
	})
}

// userCode returns a code of nine letters and digits, as Entra ID's.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// deviceCodeGrant answers a poll of the device code flow.
func (e *Emulator) deviceCodeGrant(form url.Values) (*tokenAnswer, *entratest.TokenError) {
	code := form.Get("device_code")
	if code == "" {
		return nil, missing("device_code")
	}
	now := e.now()
	e.mu.Lock()
	d := e.devices[code]
	var state string
	var tooFast bool
	if d != nil {
		state = d.state
		tooFast = state == "pending" && !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval/2
		d.lastPoll = now
		if state == "approved" {
			d.state = "redeemed"
		}
	}
	e.mu.Unlock()
	switch {
	case d == nil:
		return nil, badRequest("invalid_grant", 70000, "The provided value for the 'device_code' parameter is not valid.")
	case !strings.EqualFold(form.Get("client_id"), d.app.ClientID):
		return nil, badRequest("invalid_grant", 70000, "The device code was issued to another application.")
	case state == "redeemed":
		return nil, badRequest("invalid_grant", 54005, "The device code was already redeemed.")
	case now.After(d.expires):
		return nil, badRequest("expired_token", 70019, "Verification code expired.")
	case state == "declined":
		return nil, badRequest("authorization_declined", 70020, "The user declined the sign-in request.")
	case tooFast:
		return nil, badRequest("slow_down", 70016, "OAuth 2.0 device flow error. Authorization is pending, and the client polls faster than the interval (%d seconds). Slow down.", int(d.interval/time.Second))
	case state == "pending":
		return nil, badRequest("authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	}
	g := &refreshGrant{clientID: d.app.ClientID, user: d.user, scopes: d.scopes, sid: d.sid, authTime: d.authTime}
	return e.issueUserTokens(d.app, g, d.scopes, "", "0", form.Get("client_info") == "1")
}

// serveDeviceLogin is the page where a user enters the device's code, signs
// in and consents (or declines).
func (e *Emulator) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		e.devicePage(w, "", nil, "")
		return
	}
	if r.Method != http.MethodPost {
		e.errorPage(w, http.StatusMethodNotAllowed, "Open this page with GET.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if r.ParseForm() != nil || !e.useTicket(r.PostForm.Get("emulator_ticket")) {
		e.devicePage(w, "", nil, "This page expired. Enter the code again.")
		return
	}
	code := strings.ToUpper(strings.Join(strings.Fields(r.PostForm.Get("user_code")), ""))
	now := e.now()
	e.mu.Lock()
	var d *deviceFlow
	for _, x := range e.devices {
		if x.userCode == code && x.state == "pending" && !now.After(x.expires) {
			d = x
			break
		}
	}
	e.mu.Unlock()
	if d == nil {
		e.devicePage(w, "", nil, "That code is wrong or expired. Check the code and try again.")
		return
	}
	switch r.PostForm.Get("emulator_action") {
	case "":
		e.devicePage(w, code, d, "")
		return
	case "accept":
		u := e.lookupUser(r.PostForm.Get("emulator_user"))
		if u == nil {
			e.devicePage(w, code, d, "Choose an account to sign in.")
			return
		}
		e.mu.Lock()
		d.state, d.user, d.sid, d.authTime = "approved", u, entratest.NewGUID(), now
		e.mu.Unlock()
		pageHeaders(w)
		_ = messagePage.Execute(w, map[string]any{"Title": "You signed in to " + d.app.Name, "Message": "You may now close this window and go back to the application on your device."})
	default:
		e.mu.Lock()
		d.state = "declined"
		e.mu.Unlock()
		pageHeaders(w)
		_ = messagePage.Execute(w, map[string]any{"Title": "Sign-in declined", "Message": d.app.Name + " was not signed in. You may close this window."})
	}
}

func (e *Emulator) devicePage(w http.ResponseWriter, code string, d *deviceFlow, problem string) {
	data := map[string]any{"Code": code, "Problem": problem, "Ticket": e.newTicket(), "Users": e.users, "Selected": e.defaultUser.ObjectID}
	if d != nil {
		data["App"], data["Scopes"] = d.app.Name, d.scopes
	}
	pageHeaders(w)
	_ = devicePage.Execute(w, data)
}

var devicePage = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enter code – entraguard emulator</title><style>` + pageStyle + `</style></head>
<body><main>
{{if not .App}}<h1>Enter code</h1>
<p class="note">entraguard emulator: enter the code shown on your device or in your terminal.</p>
{{if .Problem}}<p class="problem" role="alert">{{.Problem}}</p>{{end}}
<form method="post">
<input type="hidden" name="emulator_ticket" value="{{.Ticket}}">
<p><label for="user_code">Code</label><br>
<input type="text" id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus></p>
<button type="submit">Next</button>
</form>
{{else}}<h1>Sign in to {{.App}}</h1>
<p class="note">You are signing in on another device. No password is asked.</p>
{{if .Problem}}<p class="problem" role="alert">{{.Problem}}</p>{{end}}
<form method="post">
<input type="hidden" name="emulator_ticket" value="{{.Ticket}}">
<input type="hidden" name="user_code" value="{{.Code}}">
<fieldset><legend>Pick an account</legend>
{{range $i, $u := .Users}}<div class="choice"><input type="radio" name="emulator_user" id="user-{{$i}}" value="{{$u.ObjectID}}"{{if eq $u.ObjectID $.Selected}} checked{{end}}>
<label for="user-{{$i}}">{{$u.Name}} ({{$u.UPN}})</label></div>
{{end}}</fieldset>
<fieldset><legend>{{.App}} asks for these permissions</legend>
{{if .Scopes}}<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>Sign you in and read your profile.</p>{{end}}
</fieldset>
<button type="submit" name="emulator_action" value="accept">Accept and sign in</button>
<button type="submit" name="emulator_action" value="decline">Decline</button>
</form>{{end}}
</main></body></html>
`))
