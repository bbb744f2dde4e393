module github.com/entraguard/entraguard/gin

go 1.26.0

require github.com/entraguard/entraguard/core v0.0.0

replace github.com/entraguard/entraguard/core => ../core
