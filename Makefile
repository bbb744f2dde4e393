# entraguard — workspace tasks. `make` (or `make help`) lists them.
#
# Modules are read from go.work, so a module added with `go work use ./x`
# is linted and tested without touching this file. Each module runs on its
# own, from its own directory (`./...` in the root module covers only the
# root's packages, not the nested modules). Override for a quick run:
#   make test MODULES=./core

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Module directories listed in go.work ("." "./core" ...), read once.
# Only a command-line MODULES=... overrides it (not the environment).
ifneq ($(origin MODULES),command line)
MODULES := $(shell go work edit -json 2>/dev/null | sed -n 's/.*"DiskPath": *"\([^"]*\)".*/\1/p')
endif

# Lint tools, pinned; installed into .bin/ on first use (file names carry
# the version, so bumping a version here reinstalls). Both checked against
# Go 1.26 code (new(expr) and friends).
BIN                 := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0
STATICCHECK         := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
GOVULNCHECK         := $(BIN)/govulncheck-$(GOVULNCHECK_VERSION)

FUZZTIME    ?= 30s
FUZZTIME_CI ?= 10s
# Modules whose packages' fuzz targets (go test -list '^Fuzz') `make fuzz` runs.
FUZZ_ROOTS  ?= core
# Benchmarks run in these module directories.
BENCH_DIRS  ?= core bench
BENCH       ?= .
BENCHFLAGS  ?=

# True, in a recipe loop whose shell variable m is a module directory, when
# that module holds no package, as the root module may (go test and go vet
# fail on "matched no packages"). A go.mod that does not load counts as
# having packages, so its error shows.
NO_PACKAGES = [ -z "$$(cd "$$m" && { go list -e ./... 2>/dev/null || echo error; })" ]

# Go files checked by gofmt: every module, nothing generated or fetched.
GOFILES_CMD := find . -type f -name '*.go' \
	-not -path './.git/*' -not -path './.bin/*' -not -path './tmp/*' \
	-not -path '*/testdata/*' -not -path '*/vendor/*' -print0

.PHONY: help test test-go127 lint fmt fmt-check vet staticcheck vulncheck api api-check release-check tools bench fuzz fuzz-ci \
	run run-gin run-echo run-echov5 run-fiber run-fiberv3 run-nethttp emulator emulator-image-build loadtest tidy clean modules check-modules

help: ## List the targets
	@echo "entraguard — make targets:"
	grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'
	echo
	echo "modules (from go.work): $(MODULES)"

modules: ## Print the module directories read from go.work
	@echo $(MODULES)

check-modules:
	@if [ -z "$(strip $(MODULES))" ]; then echo "no modules found: is go.work there, and go on PATH?" >&2; exit 1; fi

# ---------------------------------------------------------------------------
# test

test: check-modules ## go test -race -count=1 ./... in every module; all run, failures listed at the end
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT
	passed=0; failed=0; failed_modules=()
	for m in $(MODULES); do
		echo "==> go test -race -count=1 ./... ($$m)"
		if $(NO_PACKAGES); then
			echo "    no packages in $$m, skipped"
			continue
		fi
		rc=0
		(cd "$$m" && go test -race -count=1 ./...) 2>&1 | tee "$$log" || rc=$$?
		passed=$$((passed + $$(grep -cE '^ok[[:space:]]' "$$log" || true)))
		n=$$(grep -cE '^FAIL[[:space:]]' "$$log" || true)
		if [ "$$rc" != 0 ]; then
			# A module that fails without a FAIL line (go.mod, a missing
			# directory) still counts once.
			[ "$$n" -gt 0 ] || n=1
			failed_modules+=("$$m")
			echo "go test FAILED in $$m (going on with the other modules)"
		fi
		failed=$$((failed + n))
	done
	if [ "$${#failed_modules[@]}" -gt 0 ]; then
		echo "modules with failures: $${failed_modules[*]}"
	fi
	echo "packages: $$passed passed, $$failed failed"
	[ "$${#failed_modules[@]}" -eq 0 ]

# The newest Go, on which every module must also build, vet and pass its
# tests while its go.mod keeps `go 1.26` as the minimum (Go supports the two
# newest majors). GOTOOLCHAIN fetches it through the module proxy on first
# use (golang.org/toolchain, about 70 MB, then cached).
GO127_TOOLCHAIN ?= go1.27.3

test-go127: check-modules ## go vet and go test -race in every module on Go 1.27 (GO127_TOOLCHAIN=go1.27.3); run before a release
	@export GOTOOLCHAIN=$(GO127_TOOLCHAIN)
	version=$$(go env GOVERSION)
	case "$$version" in
		go1.27|go1.27.*) echo "==> $$version" ;;
		*) echo "test-go127: GOTOOLCHAIN=$(GO127_TOOLCHAIN) gave $$version, not Go 1.27" >&2; exit 1 ;;
	esac
	failed_modules=()
	for m in $(MODULES); do
		if $(NO_PACKAGES); then
			echo "==> $$m: no packages, skipped"
			continue
		fi
		# The minimum stays Go 1.26: a go.mod that asks for more fails here.
		minimum=$$(cd "$$m" && go mod edit -json | sed -n 's/^[[:space:]]*"Go": *"\([^"]*\)".*/\1/p')
		case "$$minimum" in
			1.26|1.26.*) ;;
			*) echo "$$m: go.mod says go $$minimum; the minimum is Go 1.26" >&2; failed_modules+=("$$m"); continue ;;
		esac
		echo "==> go vet ./... && go test -race -count=1 ./... ($$m, $$version, go.mod go $$minimum)"
		if ! (cd "$$m" && go vet ./... && go test -race -count=1 ./...); then
			failed_modules+=("$$m")
			echo "test-go127 FAILED in $$m (going on with the other modules)"
		fi
	done
	if [ "$${#failed_modules[@]}" -gt 0 ]; then
		echo "modules failing on $$version: $${failed_modules[*]}" >&2
		exit 1
	fi
	echo "test-go127: every module vets and passes its tests on $$version"

# ---------------------------------------------------------------------------
# lint

lint: check-modules fmt-check vet staticcheck vulncheck api-check release-check ## gofmt check, go vet, staticcheck, govulncheck (every module), API gate, release tags
	@echo "lint: ok"

fmt: ## Rewrite unformatted Go files with gofmt
	@$(GOFILES_CMD) | xargs -0 -r gofmt -l -w

fmt-check: ## Fail listing the Go files gofmt would change
	@echo "==> gofmt -l"
	unformatted=$$($(GOFILES_CMD) | xargs -0 -r gofmt -l)
	if [ -n "$$unformatted" ]; then
		echo "gofmt: these files are not formatted (run 'make fmt'):" >&2
		echo "$$unformatted" | sed 's/^/  /' >&2
		exit 1
	fi

vet: ## go vet ./... in every module
	@for m in $(MODULES); do
		echo "==> go vet ./... ($$m)"
		if $(NO_PACKAGES); then echo "    no packages in $$m, skipped"; continue; fi
		(cd "$$m" && go vet ./...)
	done

staticcheck: $(STATICCHECK) ## staticcheck ./... in every module
	@for m in $(MODULES); do
		echo "==> staticcheck ./... ($$m)"
		if $(NO_PACKAGES); then echo "    no packages in $$m, skipped"; continue; fi
		(cd "$$m" && $(STATICCHECK) ./...)
	done

# govulncheck needs https://vuln.go.dev, which this project's machines cannot
# reach: tools/vulncheck.sh prints "govulncheck skipped: vulnerability
# database unreachable" then, and fails only on real findings or errors. See
# that script for the details and VULNDB=file:///... for a local database.
vulncheck: $(GOVULNCHECK) ## govulncheck ./... in every module (skipped if its database is unreachable)
	@bash tools/vulncheck.sh $(GOVULNCHECK) $(MODULES)

# The exported API of every library module, recorded in api/DIR.txt (DIR with
# / as _). `make lint` fails on a change that is not recorded, so that after
# the first tag a rename is a decision, not an accident (docs/releasing.md).
API_MODULES := core gin echo echo/v5 fiber fiber/v3 grpc connect connect/v2 otel redis emulator
APICHECK    := $(BIN)/apicheck

$(APICHECK): $(wildcard tools/apicheck/*.go)
	@mkdir -p $(BIN)
	go build -o $@ ./tools/apicheck

api: $(APICHECK) ## Record the exported API of every library module in api/
	@mkdir -p api
	for m in $(API_MODULES); do
		echo "==> api/$${m//\//_}.txt"
		(cd "$$m" && $(APICHECK) -o "$(CURDIR)/api/$${m//\//_}.txt" ./...)
	done

api-check: $(APICHECK) ## Fail when a library module's exported API differs from api/
	@rc=0
	for m in $(API_MODULES); do
		echo "==> apicheck ($$m)"
		(cd "$$m" && $(APICHECK) -check "$(CURDIR)/api/$${m//\//_}.txt" ./...) || rc=1
	done
	exit $$rc

release-check: ## Show that the go command accepts every module's planned first tag (VERSION=v0.1.0)
	@bash tools/release-check.sh $(or $(VERSION),v0.1.0)

tools: $(STATICCHECK) $(GOVULNCHECK) $(APICHECK) ## Install the pinned lint tools into .bin/

$(STATICCHECK):
	@echo "==> installing staticcheck $(STATICCHECK_VERSION) into .bin/"
	GOBIN=$(BIN)/.install go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/.install/staticcheck $@

$(GOVULNCHECK):
	@echo "==> installing govulncheck $(GOVULNCHECK_VERSION) into .bin/"
	GOBIN=$(BIN)/.install go install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	mv $(BIN)/.install/govulncheck $@

# ---------------------------------------------------------------------------
# bench, fuzz

bench: ## Benchmarks (-benchmem) in core and bench; BENCH=regexp, BENCHFLAGS=...
	@for d in $(BENCH_DIRS); do
		echo "==> go test -run '^$$' -bench '$(BENCH)' -benchmem ./... ($$d)"
		(cd "$$d" && go test -run '^$$' -bench '$(BENCH)' -benchmem $(BENCHFLAGS) ./...)
	done

# -fuzzminimizetime 200x: Go's shrinking is quadratic in input size, and
# certificate-sized inputs (FuzzX5C) would spend a short run shrinking.
#
# Fuzzing runs on Go 1.27 (FUZZ_TOOLCHAIN): Go 1.26's fuzz coordinator can
# fail a target that found nothing with a bare "context deadline exceeded"
# when -fuzztime ends while a worker is busy, as it does on a loaded 2-core
# machine (go.dev/issue/75804, fixed in Go 1.27's internal/fuzz). A real
# finding always writes a failing input under testdata/fuzz and still fails.
FUZZ_TOOLCHAIN ?= $(GO127_TOOLCHAIN)

fuzz: ## Run each fuzz target in FUZZ_ROOTS for FUZZTIME (default 30s), on FUZZ_TOOLCHAIN (Go 1.27)
	@export GOTOOLCHAIN=$(FUZZ_TOOLCHAIN)
	version=$$(go env GOVERSION)
	case "$$version" in
		go1.2[0-6]|go1.2[0-6].*|go1.1*) echo "fuzz: GOTOOLCHAIN=$(FUZZ_TOOLCHAIN) gave $$version; fuzzing needs Go 1.27 or later (go.dev/issue/75804)" >&2; exit 1 ;;
		*) echo "==> fuzzing on $$version" ;;
	esac
	targets=()
	for r in $(FUZZ_ROOTS); do
		# go test -list names the fuzz targets of each package, as go sees them.
		while IFS=' ' read -r dir name; do
			targets+=("$$dir $$name")
		done < <(cd "$$r" && go list -f '{{.Dir}}' ./... | while read -r pkg; do
			list=$$(cd "$$pkg" && go test -list '^Fuzz' . </dev/null) || { echo "$$list" >&2; exit 1; }
			printf '%s\n' "$$list" | sed -n "s|^\(Fuzz[[:alnum:]_]*\)$$|$$pkg \1|p"
		done)
	done
	if [ "$${#targets[@]}" -eq 0 ]; then
		echo "fuzz: no fuzz targets found in $(FUZZ_ROOTS)" >&2
		exit 1
	fi
	passed=0; rc=0
	for t in "$${targets[@]}"; do
		dir=$${t% *}; name=$${t#* }
		echo "==> go test -run '^$$' -fuzz '^$$name$$' -fuzztime $(FUZZTIME) ($${dir#$(CURDIR)/})"
		(cd "$$dir" && go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x .) || { rc=$$?; echo "fuzz FAILED: $$name in $$dir"; break; }
		passed=$$((passed + 1))
	done
	echo "fuzz: $$passed passed, $$((rc != 0)) failed"
	exit $$rc

fuzz-ci: ## fuzz with FUZZTIME_CI (10s) per target, as CI runs it
	@$(MAKE) fuzz FUZZTIME=$(FUZZTIME_CI)

# ---------------------------------------------------------------------------
# examples

# run-example NAME: build ./examples/NAME into .bin/ and exec it. exec, not
# `go run`: the program is then make's own child, so Ctrl-C or `kill` of make
# (which passes SIGTERM on to its children) stops the program too, instead of
# leaving it serving.
define run-example
	@go build -o "$(BIN)/example-$(1)" ./examples/$(1)
	exec "$(BIN)/example-$(1)"
endef

run: run-gin ## Start the Gin example (demo mode unless ENTRA_TENANT_ID is set)

run-gin: ## Start the Gin example
	$(call run-example,gin)

run-echo: ## Start the Echo v4 example
	$(call run-example,echo)

run-echov5: ## Start the Echo v5 example
	$(call run-example,echov5)

run-fiber: ## Start the Fiber v2 example
	$(call run-example,fiber)

run-fiberv3: ## Start the Fiber v3 example
	$(call run-example,fiberv3)

run-nethttp: ## Start the net/http example
	$(call run-example,nethttp)

emulator: ## Run the local Entra emulator on TLS (entraguard emulator -tls; ARGS=... for more flags)
	@go build -o "$(BIN)/entraguard" ./cmd/entraguard
	exec "$(BIN)/entraguard" emulator -tls $(ARGS)

emulator-image-build: ## Build the emulator image's static binary as emulator/Dockerfile does, into .bin/emulator-image (no Docker engine)
	sh emulator/build.sh "$(BIN)/emulator-image"

loadtest: ## Run scripts/loadtest.sh (loopback only)
	@bash scripts/loadtest.sh

# ---------------------------------------------------------------------------
# housekeeping

tidy: ## go mod tidy in every module
	@for m in $(MODULES); do
		echo "==> go mod tidy ($$m)"
		(cd "$$m" && go mod tidy)
	done

clean: ## Remove .bin/ (installed lint tools)
	rm -rf $(BIN)
