#!/usr/bin/env bash
# smoke-deb.sh builds the .deb (packaging/package.sh), installs it with dpkg,
# uses the installed /usr/bin/docker-credential-notation as a client would
# (version, store, get, list, erase with the file store, in a throwaway
# HOME), checks that the man page and the completions are in place and work,
# and purges the package, leaving the machine as it was. make test runs it.
#
# It needs root and dpkg, and says it skipped otherwise. It refuses to run
# when the package is already installed or /usr/bin holds a binary of that
# name, since it would remove them. Runs from one tree are serialized by a
# lock, as they install the same package.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
name=docker-credential-notation
exe=/usr/bin/$name

say() { printf 'smoke-deb: %s\n' "$*"; }
fail() {
	say "FAIL: $*" >&2
	exit 1
}

if [[ $(id -u) != 0 ]]; then
	say "skipped: installing a package needs root (run as root, or in CI)"
	exit 0
fi
if ! command -v dpkg >/dev/null || ! command -v dpkg-deb >/dev/null; then
	say "skipped: dpkg is not installed (not a Debian-like system)"
	exit 0
fi

exec 8>/tmp/$name-smoke-deb.lock
flock 8

if dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'ok installed'; then
	fail "the package $name is installed already; remove it first (dpkg --purge $name), this test installs and removes its own"
fi
if [[ -e $exe ]]; then
	fail "$exe exists and does not belong to a package; move it away first, this test installs its own there"
fi

work=$(mktemp -d)
installed=
cleanup() {
	if [[ -n $installed ]]; then
		dpkg --purge "$name" >/dev/null 2>&1 || say "warning: dpkg --purge $name failed; remove it by hand" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
deb=$(VERSION=$version OUT=$work/out packaging/package.sh deb)
[[ -f $deb ]] || fail "package.sh did not report a .deb (got '$deb')"
say "built $(basename "$deb")"

# The package's own description of itself.
[[ $(dpkg-deb -f "$deb" Package) == "$name" ]] || fail "the .deb's Package field is not $name"

installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || {
	cat "$work/dpkg.log" >&2
	fail "dpkg -i failed"
}
say "installed with dpkg -i"

files=(
	"$exe"
	/usr/share/man/man1/$name.1.gz
	/usr/share/bash-completion/completions/$name
	/usr/share/zsh/vendor-completions/_$name
	/usr/share/fish/vendor_completions.d/$name.fish
)
# Minimal images (Debian's docker images) tell dpkg not to install
# documentation (path-exclude in /etc/dpkg/dpkg.cfg.d); such a file is
# checked in the package only.
excluded() {
	local f=$1 kind pat verdict=1
	while read -r kind pat; do
		# shellcheck disable=SC2053 # pat is a glob
		[[ $f == $pat ]] || continue
		case $kind in
		path-exclude) verdict=0 ;;
		path-include) verdict=1 ;;
		esac
	done < <(cat /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* 2>/dev/null | grep -E '^path-(ex|in)clude[[:space:]]')
	return $verdict
}
contents=$(dpkg-deb -c "$deb")
for f in "${files[@]}"; do
	grep -q " \.$f\$" <<<"$contents" || fail "the .deb does not contain $f"
	if excluded "$f"; then
		say "note: dpkg's configuration excludes $f on this machine; checked in the package only"
		continue
	fi
	[[ -f $f ]] || fail "$f is not installed"
	dpkg -S "$f" >/dev/null 2>&1 || fail "$f is installed but dpkg does not know it belongs to $name"
done
[[ $(stat -c %a "$exe") == 755 ]] || fail "$exe has mode $(stat -c %a "$exe"), want 755"

# The man page is the generated one, and man finds it when man is there.
manpage=/usr/share/man/man1/$name.1.gz
if [[ -f $manpage ]]; then
	zcat "$manpage" | cmp -s - "docs/man/$name.1" || fail "the installed man page differs from docs/man/$name.1"
fi
if [[ -f $manpage ]] && command -v man >/dev/null; then
	MANWIDTH=80 man "$name" 2>/dev/null | grep -q 'import --remove-plaintext' || fail "man $name does not show the page"
fi

# bash completes through the installed file.
got=$(bash --norc --noprofile -c "source /usr/share/bash-completion/completions/$name
COMP_WORDS=($name imp); COMP_CWORD=1; _docker_credential_notation; echo \"\${COMPREPLY[*]}\"")
[[ $got == import ]] || fail "the installed bash completion completes 'imp' to '$got', want 'import'"
if command -v fish >/dev/null; then
	got=$(HOME=$work fish --no-config -c "source /usr/share/fish/vendor_completions.d/$name.fish; complete -C '$name doct'" | cut -f1)
	[[ $got == doctor ]] || fail "the installed fish completion completes 'doct' to '$got', want 'doctor'"
fi
if command -v zsh >/dev/null; then
	zsh -n /usr/share/zsh/vendor-completions/_$name || fail "the installed zsh completion does not parse"
fi

# The installed binary, as a client runs it: a fresh user with the file store.
home=$work/home
mkdir -p "$home"
run() {
	env -i PATH=/usr/bin:/bin HOME="$home" XDG_CONFIG_HOME="$home/.config" \
		DOCKER_CREDENTIAL_NOTATION_BACKEND=file "$exe" "$@"
}
out=$(run version) || fail "version failed: $out"
[[ $out == "$name ("*") $version" ]] || fail "version printed '$out', want '$name (…) $version'"

secret="smoke-$RANDOM$RANDOM-secret"
printf '{"ServerURL":"registry.smoke.test","Username":"smoke-user","Secret":"%s"}' "$secret" |
	run store || fail "store failed"
out=$(printf 'registry.smoke.test' | run get) || fail "get failed: $out"
[[ $out == '{"ServerURL":"registry.smoke.test","Username":"smoke-user","Secret":"'"$secret"'"}' ]] ||
	fail "get printed something else than the stored credential"
out=$(run list </dev/null) || fail "list failed: $out"
[[ $out == '{"registry.smoke.test":"smoke-user"}' ]] || fail "list printed '$out'"
# The secret is encrypted at rest: no file under HOME holds it.
if grep -rqF -- "$secret" "$home"; then
	fail "the secret is in a file under HOME in plaintext"
fi
printf 'registry.smoke.test' | run erase || fail "erase failed"
if out=$(printf 'registry.smoke.test' | run get); then
	fail "get succeeded after erase"
fi
[[ $out == 'credentials not found in native keychain' ]] || fail "get after erase printed '$out'"
say "version, store, get, list, erase work through $exe"

dpkg --purge "$name" >"$work/dpkg.log" 2>&1 || {
	cat "$work/dpkg.log" >&2
	fail "dpkg --purge failed"
}
installed=
for f in "${files[@]}"; do
	[[ ! -e $f ]] || fail "$f is still there after dpkg --purge"
done
if dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'ok installed'; then
	fail "dpkg still lists $name after --purge"
fi
say "ok: purged, nothing left"
