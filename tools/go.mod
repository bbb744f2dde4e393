module github.com/entraguard/entraguard/tools

go 1.26.0
