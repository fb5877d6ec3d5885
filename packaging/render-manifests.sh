#!/usr/bin/env bash
# render-manifests.sh fills the Homebrew formula and Scoop manifest templates
# (packaging/homebrew/*.rb.in, packaging/scoop/*.json.in) for one release,
# from the checksums.txt that goreleaser writes next to the archives.
#
# Usage: packaging/render-manifests.sh VERSION CHECKSUMS OUTDIR
#   VERSION    the release version without the v (1.2.3)
#   CHECKSUMS  the release's checksums.txt ("<sha256>  <archive name>" lines)
#   OUTDIR     where docker-credential-notation.rb and .json are written
#
# It fails when an archive the templates need is missing from CHECKSUMS or a
# placeholder is left unfilled.
set -euo pipefail

if (($# != 3)); then
	echo "usage: $0 VERSION CHECKSUMS OUTDIR" >&2
	exit 2
fi
version=$1 checksums=$2 out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=docker-credential-notation

if [[ ! $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
	echo "render-manifests: error: '$version' is not a release version such as 1.2.3 (no leading v)" >&2
	exit 2
fi

args=(-e "s|@VERSION@|$version|g")
for platform in darwin_amd64 darwin_arm64 linux_amd64 linux_arm64 windows_amd64 windows_arm64; do
	ext=tar.gz
	[[ $platform == windows_* ]] && ext=zip
	archive=${name}_${version}_$platform.$ext
	sum=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$checksums")
	if [[ ! $sum =~ ^[0-9a-f]{64}$ ]]; then
		echo "render-manifests: error: no sha256 for $archive in $checksums" >&2
		exit 1
	fi
	upper=$(tr '[:lower:]' '[:upper:]' <<<"$platform")
	args+=(-e "s|@SHA256_${upper}@|$sum|g")
done

mkdir -p "$out"
sed "${args[@]}" "$here/homebrew/$name.rb.in" >"$out/$name.rb"
sed "${args[@]}" "$here/scoop/$name.json.in" >"$out/$name.json"
for f in "$out/$name.rb" "$out/$name.json"; do
	if left=$(grep -o '@[A-Z0-9_]*@' "$f"); then
		echo "render-manifests: error: $f still has placeholders: $left" >&2
		exit 1
	fi
	echo "$f"
done
