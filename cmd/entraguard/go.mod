module github.com/entraguard/entraguard/cmd/entraguard

go 1.26.0

require (
	github.com/entraguard/entraguard/core v0.0.0
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
)

require (
	filippo.io/bigmod v0.1.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.11.0 // indirect
)

replace github.com/entraguard/entraguard/core => ../../core
