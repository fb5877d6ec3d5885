#!/usr/bin/env bash
# package.sh builds the Linux packages with nfpm (packaging/nfpm.yaml): the
# static linux binary, built as releases build it, the man page and the
# bash, zsh and fish completions from docs/ (make docs generates them).
#
# Usage: packaging/package.sh [deb] [rpm] [apk]      (default: deb rpm)
#
# Environment:
#   VERSION  the program's version (default: git describe, as make build)
#   ARCH     the Go architecture to package (default: go env GOARCH)
#   OUT      where the packages go (default: <repo>/dist/packages)
#   TOOLS_BIN  where nfpm is installed (default: <repo>/.cache/bin)
#
# nfpm is installed pinned from the Go module proxy into TOOLS_BIN once, like
# scripts/install-tools.sh installs the other tools. The paths of the
# packages built are printed on stdout, one a line.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

nfpm_pkg=github.com/goreleaser/nfpm/v2/cmd/nfpm
nfpm_version=v2.45.2
bin=${TOOLS_BIN:-$repo/.cache/bin}
name=docker-credential-notation

log() { printf 'package: %s\n' "$*" >&2; }

formats=("$@")
if ((${#formats[@]} == 0)); then
	formats=(deb rpm)
fi
for f in "${formats[@]}"; do
	case $f in
	deb | rpm | apk) ;;
	*)
		log "error: unknown package format '$f' (want deb, rpm or apk)"
		exit 2
		;;
	esac
done

stamp="$bin/.stamp-nfpm-$nfpm_version-$(go env GOVERSION)"
if [[ ! -x $bin/nfpm || ! -f $stamp ]]; then
	log "installing nfpm $nfpm_version ($nfpm_pkg@$nfpm_version) into $bin"
	mkdir -p "$bin"
	rm -f "$bin/.stamp-nfpm-"*
	GOBIN=$bin GOFLAGS=-trimpath go install "$nfpm_pkg@$nfpm_version"
	touch "$stamp"
fi

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
# dpkg wants a version that starts with a digit, rpm one without '-': v1.2.3
# becomes 1.2.3, a describe string such as v1.2.3-4-gabcdef0-dirty becomes
# 1.2.3.4.gabcdef0.dirty, and an untagged commit 0.0.0~git<commit>.
pkgversion=${version#v}
pkgversion=${pkgversion//-/.}
if [[ ! $pkgversion =~ ^[0-9]+\.[0-9]+ ]]; then
	pkgversion=0.0.0~git$pkgversion
fi
if [[ ! $pkgversion =~ ^[0-9][0-9A-Za-z.~+]*$ ]]; then
	log "error: cannot turn version '$version' into a package version (got '$pkgversion')"
	exit 1
fi

arch=${ARCH:-$(go env GOARCH)}
out=${OUT:-$repo/dist/packages}
stage=$repo/dist/package-root/linux-$arch
mkdir -p "$out" "$stage"

for f in docs/man/$name.1 docs/completion/$name.bash docs/completion/_$name docs/completion/$name.fish; do
	if [[ ! -s $f ]]; then
		log "error: $f is missing: run make docs"
		exit 1
	fi
done

log "building $name $version for linux/$arch"
# The release build: static, no urfave/cli docs code, paths trimmed.
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -tags urfave_cli_no_docs \
	-ldflags "-X main.version=$version" -o "$stage/$name" .
gzip -9n <"docs/man/$name.1" >"$stage/$name.1.gz"

tmp=
trap '[[ -z $tmp ]] || rm -rf "$tmp"' EXIT
for f in "${formats[@]}"; do
	# nfpm names the file itself (name_version_arch.deb, name-version.arch.rpm,
	# …); a fresh directory per format tells which file it wrote.
	tmp=$(mktemp -d "$out/.nfpm.XXXXXX")
	VERSION=$pkgversion ARCH=$arch BINARY=$stage/$name MANPAGE=$stage/$name.1.gz \
		"$bin/nfpm" package --config packaging/nfpm.yaml --packager "$f" --target "$tmp/" >&2
	for p in "$tmp"/*; do
		mv -f "$p" "$out/"
		echo "$out/$(basename "$p")"
	done
	rmdir "$tmp"
	tmp=
done
