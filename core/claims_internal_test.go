package entra

import (
	"encoding/base64"
	"strings"
	"testing"
)

// rawURL is encoding/base64's strict decoder, the reference the request
// path's decoder (jose.DecodeSegment) is measured against.
var rawURL = base64.RawURLEncoding.Strict()

const benchPayload = `{"aud":"6e74172b-be56-4843-9ff4-e66a39bb12e3","iss":"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0","iat":1700000000,"nbf":1700000000,"exp":1700003900,"aio":"AWQAm/8VAAAAxmbJFbtZZn0zmcBsO7r0NfY0iC9R9q3cLmUO0yyQpGnJzCs1JcO5vJ0tZzq1+p3lT2W0Zb8XyqT8b0X+CXc0E5i/5mVfQ1G2K4dUu6Fq6T7mKpc5U9aE","azp":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","azpacr":"0","name":"Adele Vance","oid":"2f0b9c35-3f2b-4f0e-8a3f-4a0b3d2e1f10","preferred_username":"AdeleV@contoso.onmicrosoft.com","rh":"0.AQ8AvxgXyUhkQ0uP9Jq2b8A_1y8XdG6-tkNIn_PmajmxLuMPAAA.","scp":"Orders.Read Orders.Write","sub":"t0aLQ1bHn6hQjGJm1sC8N6ZkX8m4Ewq2eYx5u3v4w3s","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","uti":"AbCdEfGhIjKlMnOpQrStUv","ver":"2.0"}`

func BenchmarkParseClaims(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseClaims(benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	enc := []byte(base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(benchPayload, 1))))
	dst := make([]byte, len(enc))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rawURL.Decode(dst, enc); err != nil {
			b.Fatal(err)
		}
	}
}
