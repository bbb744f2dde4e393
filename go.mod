module github.com/entraguard/entraguard

go 1.26.0
