package main

import "github.com/entraguard/entraguard/cmd/entraguard/internal/sidecar"

// runSidecar is `entraguard sidecar`: see docs/sidecar.md.
func runSidecar(e *env, args []string) int {
	return sidecar.Main(e.ctx, args, e.stdout, e.stderr, e.getenv)
}
