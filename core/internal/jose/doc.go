// Package jose holds the byte-level layer of token validation, apart from
// package entra's policy: a strict JSON reader for token headers and
// payloads (Reader, StrList), the base64url decoder of the request path
// (DecodeSegment), the table of JWS algorithms (Alg, AlgSet) and signature
// verification, with a PKCS#1 v1.5 verifier whose modulus is prepared once
// per key (RSAVerifier).
//
// It knows nothing of Entra, claims or key sets: package entra reads the
// members it wants with a Reader, refuses a token with its own errors (the
// Err values here are the causes it quotes), and keeps the keys. Every
// function is safe for concurrent use; a Reader is one caller's.
package jose
