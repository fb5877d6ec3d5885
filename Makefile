# The quick loop needs no make at all: `go test ./...` runs every package's
# tests and the built binary's suites in about a minute, without root and
# with nothing installed (the suites that need the peers or a Secret Service
# skip and name what to install). `make help` lists the targets, quick ones
# first.
#
#   make check        go test ./..., then make lint; no root
#   make test         make lint, then make integration, whose race run of
#                     go test ./... is check's with the peers installed:
#                     every test, what CI runs (.ci/run) and the README's
#                     test command
#   make integration  needs root: installs Debian packages with apt-get (gcc
#                     and libc6-dev for the race detector, dbus,
#                     gnome-keyring, docker, skopeo...) and the pinned peers,
#                     then the race suite with the peers on PATH (tests/e2e
#                     against the real clients, tests/registry), the
#                     compatibility table check, kubelet's own code, the
#                     keychain tests on a private D-Bus session and the .deb
#                     smoke test (dpkg)
#   make lint         gofmt, go vet (linux, darwin, windows) and staticcheck
#   make build        bin/docker-credential-notation, version stamped
#   make install      go install, into $GOBIN (or $GOPATH/bin), or $(PREFIX)/bin when PREFIX is set
#   make cross        CGO_ENABLED=0 builds for linux/darwin/windows on amd64/arm64 into dist/
#
# build, install, cross, lint, docs and fuzz are go invocations you could
# type yourself; the test, package and bench targets run the scripts in
# scripts/ and packaging/. Go tools (staticcheck, the stock age CLI,
# govulncheck) are installed pinned into .cache/bin by
# scripts/install-tools.sh, the peers outside the checkout by
# scripts/install-peers.sh; Debian packages are the only thing installed
# system-wide, by integration's scripts.

GO        ?= go
BINARY    := docker-credential-notation
# `git describe` on a tagged checkout, the commit otherwise, "-dirty" with
# local changes; outside a git checkout (a source tarball) a dev string.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
LDFLAGS   := -X main.version=$(VERSION)
# urfave_cli_no_docs leaves urfave/cli's Markdown and man-page generator
# (blackfriday, go-md2man) out of the binary: clients start the helper on
# every pull, and each linked package's init costs them start-up time. The
# man page and completions come from internal/cmd/gendocs instead.
TAGS      := urfave_cli_no_docs
GOFLAGS_BUILD := -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)"
# Static, like a Go hello-world: with cgo (net, and os/user through godbus)
# the binary links libc dynamically, and loading it costs every start.
BUILD_ENV := CGO_ENABLED=0

TOOLS_BIN := $(CURDIR)/.cache/bin
# Tests find age, age-keygen and age-plugin-batchpass on PATH.
TEST_PATH := $(TOOLS_BIN):$(PATH)
# Extra flags for go test, e.g. make test GOTESTFLAGS=-v. -count=1 by default:
# tests/ builds the binary itself, which go test's cache cannot see, so a
# cached result could hide a change to the program.
GOTESTFLAGS ?= -count=1
# make integration runs the whole tree under the race detector, in one pass: on the
# build machine it took 5m18s against 6m26s without (RELIABILITY.md), since
# most of the time goes to the binary, which tests build without it. It needs
# cgo, so scripts/install-system-deps.sh installs gcc. RACE= turns it off.
RACE      ?= -race

# Where the end-to-end suite writes one JSON line per matrix row.
E2E_RESULTS ?= $(CURDIR)/.cache/e2e-results.jsonl

PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
# How long each fuzz target runs under `make fuzz`.
FUZZTIME  ?= 30s

# `make install` without PREFIX behaves like the README's `go install`: the
# binary lands in $GOBIN, or $GOPATH/bin (usually ~/go/bin). With PREFIX the
# built binary is copied into $(DESTDIR)$(PREFIX)/bin, e.g.
# make install PREFIX=$HOME/.local, or PREFIX=/usr/local DESTDIR=pkgroot.
PREFIX    ?=
DESTDIR   ?=

.DEFAULT_GOAL := build

.PHONY: help
help: ## list the targets
	@echo 'The quick loop: go test ./...  (about a minute; no root, nothing installed)'
	@echo
	@awk -F':.*## ' '/^[a-z][a-z-]*:.*## /{printf "  %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: check
check: ## go test ./..., then make lint: the quick loop with the linters, no root
	PATH="$(TEST_PATH)" $(GO) test $(GOTESTFLAGS) ./...
	@$(MAKE) --no-print-directory lint

.PHONY: test
# Not check then integration: that would run go test ./... twice, and the
# first run, before the peers are installed, fails where CI is set.
test: lint integration ## every test, as CI runs it (needs root): make lint, then make integration, which runs go test ./... under -race with the peers

.PHONY: integration
integration: tools peers ## needs root: installs Debian packages and the pinned peers; the race suite with them, the compatibility check, kubelet, keychain and .deb tests
	$(GO) mod verify
	@scripts/install-system-deps.sh
	@echo 'PATH=.cache/bin:$$PATH E2E_RESULTS=$(E2E_RESULTS) CGO_ENABLED=1 $(GO) test $(RACE) $(GOTESTFLAGS) ./...'
	@mkdir -p .cache && rm -f "$(E2E_RESULTS)"
	@PATH="$(TEST_PATH)" E2E_RESULTS="$(E2E_RESULTS)" CGO_ENABLED=1 $(GO) test $(RACE) $(GOTESTFLAGS) ./...
	$(GO) run ./tests/e2e/cmd/compat -check -results "$(E2E_RESULTS)" -o docs/compatibility.md -readme README.md
	@$(MAKE) --no-print-directory test-kubelet-contract
	@$(MAKE) --no-print-directory test-keychain
	@$(MAKE) --no-print-directory smoke-deb

.PHONY: lint
lint: ## gofmt, go vet for linux, darwin and windows, then staticcheck
	scripts/install-tools.sh staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	$(TOOLS_BIN)/staticcheck ./...

.PHONY: build
build: ## build bin/docker-credential-notation, version stamped
	$(BUILD_ENV) $(GO) build $(GOFLAGS_BUILD) -o bin/$(BINARY)$(shell $(GO) env GOEXE) .

.PHONY: tools
tools: ## install the test and lint tools into .cache/bin
	scripts/install-tools.sh

.PHONY: peers
peers: ## install the end-to-end peers (registry, token server, docker, notation, oras, crane, regctl, skopeo, podman, buildah, helm, cosign), pinned, cached outside the checkout
	scripts/install-peers.sh >/dev/null

.PHONY: e2e
e2e: peers ## the end-to-end suite alone: real clients against real registries
	@mkdir -p .cache && rm -f "$(E2E_RESULTS)"
	E2E_RESULTS="$(E2E_RESULTS)" $(GO) test -count=1 -timeout 15m $(GOTESTFLAGS) ./tests/e2e

.PHONY: compat
compat: ## run the end-to-end suite and regenerate docs/compatibility.md and the README's table from its results
	-@$(MAKE) --no-print-directory e2e
	$(GO) run ./tests/e2e/cmd/compat -results "$(E2E_RESULTS)" -o docs/compatibility.md -readme README.md

.PHONY: docs
docs: ## regenerate docs/commands.md, the man page (docs/man) and the shell completions (docs/completion) from the command line
	$(GO) run ./internal/cmd/gendocs -o docs

.PHONY: package
package: ## build the .deb and .rpm into dist/packages with a pinned nfpm (packaging/nfpm.yaml)
	VERSION=$(VERSION) packaging/package.sh deb rpm

.PHONY: smoke-deb
smoke-deb: ## build the .deb, install it with dpkg, smoke-test /usr/bin/docker-credential-notation, purge it (root and dpkg only; skipped otherwise; part of make integration)
	VERSION=$(VERSION) packaging/smoke-deb.sh

.PHONY: release-check
# Not part of make test: on a fresh machine it downloads about 190 MB of
# goreleaser's modules (6.4 min measured, cold caches, loaded 2-core machine).
release-check: ## load packaging/goreleaser.yaml with goreleaser's strict config loader and check its platforms, build flags and packages
	cd packaging/goreleasercheck && $(GO) run . ../goreleaser.yaml

.PHONY: test-kubelet-contract
test-kubelet-contract: ## kubelet's own types and code against the built binary's kubelet-provider (tests/kubeletcontract, tests/kubeletplugin: modules of their own, so k8s.io stays out of go.mod)
	cd tests/kubeletcontract && $(GO) mod verify >/dev/null && $(GO) test $(GOTESTFLAGS) ./...
	cd tests/kubeletplugin && $(GO) mod verify >/dev/null && $(GO) test -timeout 20m $(GOTESTFLAGS) ./...

.PHONY: test-keychain
test-keychain: ## the keychain backend's tests against a real gnome-keyring on a private D-Bus session (-p 1: they share one keyring, and some lock or stop it)
	scripts/install-system-deps.sh
	PATH="$(TEST_PATH)" scripts/with-secret-service.sh $(GO) test $(GOTESTFLAGS) -p 1 -run 'SecretService|Keychain' ./keyring/ ./tests/ ./tests/reliability/

.PHONY: bench
bench: ## whole-process benchmark beside docker-credential-pass, -secretservice, -ecr-login, -gcr and a hello-world; writes BENCHMARKS.md and docs/bench/latency.png
	scripts/bench/run.sh

.PHONY: test-race
test-race: tools ## only go test -race ./... (make integration runs it too, with the peers, the keychain tests and the package smoke test)
	@scripts/install-system-deps.sh
	@echo 'PATH=.cache/bin:$$PATH CGO_ENABLED=1 $(GO) test -race $(GOTESTFLAGS) ./...'
	@PATH="$(TEST_PATH)" CGO_ENABLED=1 $(GO) test -race $(GOTESTFLAGS) ./...

.PHONY: vuln
vuln: ## govulncheck, skipped when its database cannot be reached
	@scripts/install-tools.sh govulncheck
	@out=$$(mktemp); \
	if $(TOOLS_BIN)/govulncheck ./... >$$out 2>&1; then cat $$out; rm -f $$out; \
	else rc=$$?; \
		if [ $$rc -ne 3 ] && grep -qiE 'fetching vulnerabilities|vuln.go.dev|dial tcp|no such host|connection refused|i/o timeout' $$out; then \
			cat $$out >&2; rm -f $$out; \
			echo "vuln: skipped: the vulnerability database cannot be reached from this machine" >&2; \
		else cat $$out; rm -f $$out; exit $$rc; fi; \
	fi

.PHONY: install
install: ## install the binary (see PREFIX above)
ifeq ($(strip $(PREFIX)),)
	$(BUILD_ENV) $(GO) install $(GOFLAGS_BUILD) .
	@gobin=$$($(GO) env GOBIN); [ -n "$$gobin" ] || gobin=$$($(GO) env GOPATH | cut -d: -f1)/bin; \
	echo "installed $(BINARY) into $$gobin"
else
	$(MAKE) build
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 bin/$(BINARY)$(shell $(GO) env GOEXE) "$(DESTDIR)$(PREFIX)/bin/"
	@echo "installed $(BINARY) into $(DESTDIR)$(PREFIX)/bin"
endif

.PHONY: cross
cross: ## static builds into dist/<os>-<arch>/ for every platform
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=dist/$$os-$$arch/$(BINARY)$$ext; \
		echo "$$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $(GOFLAGS_BUILD) -o $$out .; \
	done

.PHONY: fuzz
fuzz: tools ## run every fuzz target for FUZZTIME (default 30s) each
	@set -e; \
	list=$$(PATH="$(TEST_PATH)" $(GO) test -list '^Fuzz' ./...); \
	targets=$$(echo "$$list" | \
		awk '/^Fuzz/ {names = names " " $$1; next} \
		     /^ok / {n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2 "|" a[i]; names = ""}'); \
	if [ -z "$$targets" ]; then echo "fuzz: no fuzz targets found"; exit 0; fi; \
	for t in $$targets; do \
		pkg=$${t%|*}; name=$${t#*|}; \
		echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
		PATH="$(TEST_PATH)" $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

.PHONY: clean
clean: ## remove bin/ and dist/ (keeps the tools in .cache/)
	rm -rf bin dist

.PHONY: distclean
distclean: clean ## also remove the installed tools in .cache/
	rm -rf .cache
