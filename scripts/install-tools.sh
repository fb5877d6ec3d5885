#!/usr/bin/env bash
# install-tools.sh installs the tools that the tests and the linters need into
# <repo>/.cache/bin, pinned, from the Go module proxy (the only network these
# machines reach). It is idempotent: a tool already installed at its pinned
# version is skipped, so `make test` pays for it once per machine.
#
# Usage: scripts/install-tools.sh [tool...]
#   With no argument it installs the default set: staticcheck and age.
#   Tools: staticcheck, age (age, age-keygen, age-plugin-batchpass), govulncheck.
#
# Environment: TOOLS_BIN overrides the install directory (default
# <repo>/.cache/bin). Bump a version here to upgrade a tool everywhere.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${TOOLS_BIN:-$repo/.cache/bin}

# name | package pattern for `go install` | version | binaries it provides
tools=(
	"staticcheck|honnef.co/go/tools/cmd/staticcheck|v0.8.2|staticcheck"
	"age|filippo.io/age/cmd/...|v1.3.2|age age-keygen age-plugin-batchpass"
	"govulncheck|golang.org/x/vuln/cmd/govulncheck|v1.9.0|govulncheck"
)
default_tools=(staticcheck age)

log() { printf 'install-tools: %s\n' "$*" >&2; }

exe=""
case "$(go env GOOS)" in windows) exe=".exe" ;; esac

install_tool() {
	local want=$1 entry name pkg version binaries
	for entry in "${tools[@]}"; do
		IFS='|' read -r name pkg version binaries <<<"$entry"
		[[ $name == "$want" ]] || continue
		# The stamp records the version and the Go that built it: a new Go
		# release rebuilds the tools (staticcheck must understand the Go
		# version it analyses).
		local stamp="$bin/.stamp-$name-$version-$(go env GOVERSION)"
		local missing="" b
		for b in $binaries; do
			[[ -x $bin/$b$exe ]] || missing+=" $b"
		done
		if [[ -f $stamp && -z $missing ]]; then
			log "$name $version already installed in $bin, skipping"
			return 0
		fi
		log "installing $name $version ($pkg@$version) into $bin"
		mkdir -p "$bin"
		rm -f "$bin/.stamp-$name-"*
		# GOFLAGS from the caller (e.g. -mod=vendor) must not leak into an
		# install of another module; the tool's own go.mod decides.
		GOBIN=$bin GOFLAGS=-trimpath go install "$pkg@$version"
		for b in $binaries; do
			if [[ ! -x $bin/$b$exe ]]; then
				log "error: $pkg@$version did not install $b"
				return 1
			fi
		done
		touch "$stamp"
		return 0
	done
	log "error: unknown tool '$want' (want one of: staticcheck, age, govulncheck)"
	return 2
}

if (($# == 0)); then
	set -- "${default_tools[@]}"
fi
for t in "$@"; do
	install_tool "$t"
done
