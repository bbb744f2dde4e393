module github.com/entraguard/entraguard/cmd/entraguard

go 1.26.0

require (
	github.com/entraguard/entraguard/core v0.0.0
	go.uber.org/goleak v1.3.0
)

require golang.org/x/sync v0.24.0 // indirect

replace github.com/entraguard/entraguard/core => ../../core
