#!/usr/bin/env bash
# with-secret-service.sh runs a command against a real, private Secret Service:
# a fresh D-Bus session bus (dbus-run-session) with gnome-keyring-daemon on it,
# its login keyring created and unlocked with a throwaway password, in a
# temporary HOME that is deleted afterwards. The user's own keyring and
# session bus are never touched.
#
# Usage: scripts/with-secret-service.sh COMMAND [ARG...]
#   e.g. scripts/with-secret-service.sh go test -count=1 ./keyring/
#
# Inside the command:
#   DBUS_SESSION_BUS_ADDRESS  the private bus
#   HOME, XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR  in the temp dir
#   DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE=1, so that the tests
#     fail rather than skip if the Secret Service does not answer
#   TEST_KEYRING_PASSWORD  the login keyring's password (tests that lock
#     the keyring use it to unlock it again)
#   The go command keeps its usual caches (GOPATH, GOMODCACHE, GOCACHE are
#   pinned before HOME changes).
#
# Needs Debian's dbus, dbus-bin (dbus-run-session, dbus-send) and
# gnome-keyring; libsecret-tools (secret-tool) is optional.
set -euo pipefail

log() { printf 'with-secret-service: %s\n' "$*" >&2; }

if [[ $# -eq 0 ]]; then
	log "usage: $0 COMMAND [ARG...]"
	exit 2
fi

if [[ ${_WITH_SECRET_SERVICE_INNER:-} != 1 ]]; then
	for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
		if ! command -v "$tool" >/dev/null; then
			log "$tool not found; install it: apt-get install -y dbus dbus-bin gnome-keyring libsecret-tools"
			exit 127
		fi
	done
	# Pin the go command's directories before HOME moves, so the command
	# reuses the module and build caches.
	if command -v go >/dev/null; then
		GOPATH=$(go env GOPATH) GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE) GOENV=$(go env GOENV)
		export GOPATH GOMODCACHE GOCACHE GOENV
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/secret-service.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/run"
	chmod 700 "$tmp/home" "$tmp/run"
	export HOME=$tmp/home XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
	# A throwaway password for a throwaway keyring.
	TEST_KEYRING_PASSWORD="test-$RANDOM$RANDOM"
	export TEST_KEYRING_PASSWORD
	# Not exec: the trap removes the temp dir when the session ends.
	_WITH_SECRET_SERVICE_INNER=1 dbus-run-session -- "$BASH" "${BASH_SOURCE[0]}" "$@"
	exit $?
fi

# Inside the private session bus.
unset _WITH_SECRET_SERVICE_INNER

# --unlock reads the password on stdin and creates the login keyring with it
# if there is none. The daemon forks; it exits when the session bus ends.
printf '%s' "$TEST_KEYRING_PASSWORD" |
	gnome-keyring-daemon --unlock --components=secrets >"$XDG_RUNTIME_DIR/gnome-keyring.env"

# Wait (at most 10 s) until the Secret Service owns its name on the bus.
has_owner() {
	dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
		string:org.freedesktop.secrets 2>/dev/null | grep -q true
}
for _ in $(seq 100); do
	has_owner && break
	sleep 0.1
done
if ! has_owner; then
	log "gnome-keyring-daemon did not register org.freedesktop.secrets on the session bus within 10 s"
	exit 1
fi

export DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE=1
exec "$@"
