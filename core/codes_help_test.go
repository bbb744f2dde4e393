package entra_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
)

// TestCodeFixesMatchTroubleshooting keeps Code.Fix and the table of codes
// in docs/troubleshooting.md equal, so that the CLI's explain and the docs
// give the same fix.
func TestCodeFixesMatchTroubleshooting(t *testing.T) {
	b, err := os.ReadFile("../docs/troubleshooting.md")
	if os.IsNotExist(err) {
		t.Skip("docs/troubleshooting.md is not here (the module outside its repository)")
	}
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)`(?: \\(`Code[A-Za-z]+`\\))? \\|")
	link := regexp.MustCompile(`\[([^\]]+)\]\(([^)]+)\)`)
	plain := func(md string) string {
		md = link.ReplaceAllStringFunc(md, func(l string) string {
			m := link.FindStringSubmatch(l)
			target := "docs/" + m[2]
			if strings.HasPrefix(m[2], "#") {
				target = "docs/troubleshooting.md" + m[2]
			}
			if m[1] == target[strings.LastIndex(target, "/")+1:] {
				return target
			}
			return m[1] + ": " + target
		})
		return strings.NewReplacer("`", "", "**", "").Replace(md)
	}
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		seen++
		cols := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		want := plain(strings.TrimSpace(cols[len(cols)-1]))
		if got := entra.Code(m[1]).Fix(); got != want {
			t.Errorf("Code(%q).Fix() =\n\t%q\nthe table says\n\t%q", m[1], got, want)
		}
	}
	if seen < 20 {
		t.Fatalf("found %d codes in the table; has its format changed?", seen)
	}
}

func TestCodeFixEveryCode(t *testing.T) {
	for _, c := range []entra.Code{
		entra.CodeConfigInvalid, entra.CodeInvalidRequest, entra.CodeTokenMissing, entra.CodeTokenMalformed,
		entra.CodeTokenUnsupported, entra.CodeAlgorithmNotAllowed, entra.CodeFirstPartyToken, entra.CodeUnknownKey,
		entra.CodeSignatureInvalid, entra.CodeTokenExpired, entra.CodeTokenNotYetValid, entra.CodeClaimMissing, entra.CodeIssuerInvalid,
		entra.CodeAudienceInvalid, entra.CodeTenantNotAllowed, entra.CodeTokenVersionNotAllowed, entra.CodeNoScopeOrRole, entra.CodeForbidden,
		entra.CodeGroupsOverage, entra.CodeInsufficientClaims, entra.CodeKeysUnavailable,
		entra.CodeOIDMissing, entra.CodeIDTokenNotAccepted, entra.CodeUserFlowNotAllowed, entra.CodeAgentNotAllowed, entra.CodeAuthContextRequired,
		entra.CodeTokenRevoked, entra.CodeRevocationsUnavailable,
		entra.CodeTokenBound, entra.CodeTokenBindingInvalid,
	} {
		if c.Fix() == "" {
			t.Errorf("Code %q has no Fix", c)
		}
	}
	if entra.Code("no_such_code").Fix() != "" {
		t.Error("an unknown code has a Fix")
	}
}

func ExampleCode_Fix() {
	fmt.Println(entra.CodeTokenExpired.Fix())
	// Output: get a new token (clients refresh on their own); check clocks: docs/troubleshooting.md#clock-skew
}
