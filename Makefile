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

# A stamp is remade when its version changes or when what it stands for has
# gone missing (someone removed one file by hand).
missing = $(if $(wildcard $(1)),,FORCE)

GO_TEST_FLAGS ?= -race -shuffle=on -count=1 -timeout 15m

.PHONY: help
help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-zA-Z_-]*:.*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

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

.PHONY: test
test: deps ## run all tests with the race detector
	$(GO) test $(GO_TEST_FLAGS) ./...

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
check: lint test ## lint, then test (what CI runs)

.PHONY: bench
bench: deps ## run the benchmarks once
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

.PHONY: demo
demo: ## run the tester against the bundled example server and print every answer
	$(GO) run ./internal/demo

.PHONY: clean
clean: ## remove bin/, .cache/ and test caches
	rm -rf $(BIN) $(CACHE)
	$(GO) clean -testcache

.PHONY: FORCE
FORCE:
