package main

import (
	"encoding/base64"
	"strings"
)

// base64Lines is PEM's body: standard base64 in lines of 64.
func base64Lines(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.String()
}
