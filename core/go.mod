module github.com/entraguard/entraguard/core

go 1.26.0

require (
	filippo.io/bigmod v0.1.0
	github.com/golang-jwt/jwt/v5 v5.3.1 // test-only: the fuzz oracle (oracle_fuzz_test.go)
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.25.0
)

require golang.org/x/sys v0.11.0 // indirect
