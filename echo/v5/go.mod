module github.com/entraguard/entraguard/echo/v5

go 1.26.0

require (
	github.com/entraguard/entraguard/core v0.0.0
	github.com/labstack/echo/v5 v5.4.6
	go.uber.org/goleak v1.3.0
)

require (
	filippo.io/bigmod v0.1.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.11.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/entraguard/entraguard/core => ../../core
