#!/usr/bin/env bash
# install-system-deps.sh installs the Debian packages the tests need: a real
# Secret Service to test the keychain backend against (dbus, gnome-keyring),
# secret-tool to inspect it (libsecret-tools), and a C compiler with the C
# library's headers (gcc, libc6-dev) for `go test -race`, which needs cgo. It
# does nothing when they are already there; it needs root (or sudo) and
# apt-get otherwise.
#
# Usage: scripts/install-system-deps.sh
set -euo pipefail

log() { printf 'install-system-deps: %s\n' "$*" >&2; }

# command (or, starting with /, a file) | Debian package providing it
needs=(
	"dbus-run-session|dbus"
	"dbus-send|dbus"
	"gnome-keyring-daemon|gnome-keyring"
	"secret-tool|libsecret-tools"
	"gcc|gcc"
	"/usr/include/stdlib.h|libc6-dev"
)
missing=()
for n in "${needs[@]}"; do
	IFS='|' read -r cmd pkg <<<"$n"
	if [[ $cmd == /* ]]; then
		[[ -e $cmd ]] || missing+=("$pkg")
	else
		command -v "$cmd" >/dev/null || missing+=("$pkg")
	fi
done
if ((${#missing[@]} == 0)); then
	log "dbus, gnome-keyring, libsecret-tools, gcc and libc6-dev are installed"
	exit 0
fi
# Unique package names.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

sudo=""
if ((EUID != 0)); then
	if command -v sudo >/dev/null; then
		sudo="sudo"
	else
		log "missing packages ${missing[*]}, and not root: install them with apt-get, or the keychain tests will fail"
		exit 1
	fi
fi
if ! command -v apt-get >/dev/null; then
	log "missing packages ${missing[*]}, and no apt-get: install them with your package manager"
	exit 1
fi
log "installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
log "installed ${missing[*]}"
