module github.com/entraguard/entraguard/emulator

go 1.26.0

require github.com/entraguard/entraguard/core v0.0.0

require (
	filippo.io/bigmod v0.1.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.11.0 // indirect
)

replace github.com/entraguard/entraguard/core => ../core
