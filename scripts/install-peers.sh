#!/usr/bin/env bash
# install-peers.sh installs, pinned, the real registries and clients that the
# end-to-end suite (tests/e2e) runs against the helper, and prints the
# directory that holds them all (put it first on PATH, or hand it to the
# suite as E2E_PEERS_BIN).
#
# Usage: scripts/install-peers.sh [peer...]
#   With no argument it installs every peer.
#   From the Go module proxy, built with -trimpath:
#     registry      github.com/distribution/distribution/v3/cmd/registry   v3.1.2
#     token-server  github.com/docker/distribution/contrib/token-server    v2.8.3+incompatible
#     oras          oras.land/oras/cmd/oras                                 v1.3.6
#     crane         github.com/google/go-containerregistry/cmd/crane        v0.22.1
#     regctl        github.com/regclient/regclient/cmd/regctl               v0.11.7
#     notation      github.com/notaryproject/notation/cmd/notation          v1.3.2
#     helm          helm.sh/helm/v4/cmd/helm                                v4.3.2
#     cosign        github.com/sigstore/cosign/v3/cmd/cosign                v3.1.3
#   From Debian (apt-get, only when the command is missing):
#     docker (docker-cli, else docker.io), skopeo, podman, buildah,
#     htpasswd (apache2-utils),
#     openssl, and for the keychain rows a private Secret Service:
#     dbus-daemon (dbus-daemon, else dbus) and gnome-keyring-daemon
#     (gnome-keyring).
#
# Each Go peer is built once per machine into
#   $PEERS_DIR/<name>-<version>/<binary>
# (PEERS_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/docker-credential-notation/peers,
# outside the checkout, so every checkout on the machine shares it) and is
# never rebuilt while that directory exists: bump a version here to upgrade.
# $PEERS_DIR/bin links every peer, the Debian ones included, and its file
# VERSIONS lists "<name> <version> <source>" per line for the compatibility
# table. Builds run PEERS_JOBS at a time (default: the number of CPUs);
# their logs are in $PEERS_DIR/logs.
#
# stdout carries only the bin directory; progress goes to stderr.
set -euo pipefail

peers_dir=${PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-credential-notation/peers}
jobs=${PEERS_JOBS:-$(nproc 2>/dev/null || echo 2)}
bin=$peers_dir/bin
logs=$peers_dir/logs

# name | method | module | version | package within the module | binary | pinned requirements
#   method "install": go install <module>/<package>@<version> (the module's
#                     go.mod and go.sum pin everything)
#   method "build":   go mod download the module, go build <package> in a
#                     writable copy of it, with the flags of the module's
#                     own release build (notation: `go install` fails
#                     because the proxy refuses its deprecation lookup;
#                     helm and cosign stamp their versions with -X, static,
#                     as their Makefiles and goreleaser do)
#   method "module":  go build <module>/<package> from a throwaway module
#                     that requires <module>@<version> and the pinned
#                     requirements (docker/distribution v2 has no go.mod, so
#                     `go install` would take every dependency at its latest)
go_peers=(
	"registry|install|github.com/distribution/distribution/v3|v3.1.2|cmd/registry|registry|"
	"token-server|module|github.com/docker/distribution|v2.8.3+incompatible|contrib/token-server|token-server|github.com/docker/libtrust@v0.0.0-20160708172513-aabc10ec26b7 github.com/gorilla/mux@v1.8.1 github.com/sirupsen/logrus@v1.10.2 golang.org/x/crypto@v0.59.0 golang.org/x/sys@v0.50.0"
	"oras|install|oras.land/oras|v1.3.6|cmd/oras|oras|"
	"crane|install|github.com/google/go-containerregistry|v0.22.1|cmd/crane|crane|"
	"regctl|install|github.com/regclient/regclient|v0.11.7|cmd/regctl|regctl|"
	"notation|build|github.com/notaryproject/notation|v1.3.2|cmd/notation|notation|"
	"helm|build|helm.sh/helm/v4|v4.3.2|cmd/helm|helm|"
	"cosign|build|github.com/sigstore/cosign/v3|v3.1.3|cmd/cosign|cosign|"
)

# name | command | Debian packages that provide it (first one with a candidate)
deb_peers=(
	"docker|docker|docker-cli docker.io"
	"skopeo|skopeo|skopeo"
	"podman|podman|podman"
	"buildah|buildah|buildah"
	"htpasswd|htpasswd|apache2-utils"
	"openssl|openssl|openssl"
	"dbus-daemon|dbus-daemon|dbus-daemon dbus"
	"gnome-keyring|gnome-keyring-daemon|gnome-keyring"
)

log() { printf 'install-peers: %s\n' "$*" >&2; }

# want tells whether the peer was asked for (all are, with no arguments).
want() {
	local w
	((${#selected[@]} == 0)) && return 0
	for w in "${selected[@]}"; do
		[[ $w == "$1" ]] && return 0
	done
	return 1
}

# build_go_peer builds one Go peer into a temporary directory beside its
# final place and renames it into place, so an interrupted build never
# looks installed.
build_go_peer() {
	local name=$1 method=$2 module=$3 version=$4 pkg=$5 binary=$6 requires=$7
	local dest=$peers_dir/$name-$version
	local start=$SECONDS tmp src ldflags="" cgo req
	# Every step checks its own status: this runs in the background under
	# `if`, where errexit does not apply.
	tmp=$(mktemp -d "$peers_dir/.$name-$version.XXXXXX") || return 1
	# The caller's GOFLAGS (e.g. -mod=vendor) belong to this repository, not
	# to the peer's module.
	case $method in
	install)
		GOBIN=$tmp GOFLAGS=-trimpath go install "$module/$pkg@$version" || return 1
		;;
	build)
		src=$(GOFLAGS='' go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		if [[ -z $src || ! -d $src ]]; then
			echo "go mod download $module@$version gave no directory" >&2
			return 1
		fi
		# The module cache is read-only and -mod=mod may update go.sum.
		cp -R "$src" "$tmp/src" && chmod -R u+w "$tmp/src" || return 1
		# As each project's release build does.
		cgo=${CGO_ENABLED:-}
		case $name in
		notation)
			# No "+unreleased" in `notation version`.
			ldflags="-X $module/internal/version.BuildMetadata="
			;;
		helm)
			# helm's Makefile on a tag (no commit: the proxy's zip has none).
			ldflags="-w -s -X $module/internal/version.version=$version -X $module/internal/version.metadata= -X $module/internal/version.gitTreeState=clean"
			cgo=0
			;;
		cosign)
			# cosign's Makefile and goreleaser (CGO_ENABLED=0).
			ldflags="-buildid= -X sigs.k8s.io/release-utils/version.gitVersion=$version -X sigs.k8s.io/release-utils/version.gitTreeState=clean"
			cgo=0
			;;
		esac
		(cd "$tmp/src" && CGO_ENABLED=$cgo GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$tmp/$binary" "./$pkg") || return 1
		rm -rf "$tmp/src"
		;;
	module)
		mkdir "$tmp/mod" || return 1
		{
			printf 'module install-peers/%s\n\ngo 1.21\n\nrequire (\n\t%s %s\n' "$name" "$module" "$version"
			for req in $requires; do
				printf '\t%s %s\n' "${req%@*}" "${req##*@}"
			done
			printf ')\n'
		} >"$tmp/mod/go.mod" || return 1
		# -mod=mod only records go.sum lines: every module the build needs
		# is required above, at its pinned version.
		(cd "$tmp/mod" && GOFLAGS=-mod=mod go build -trimpath -o "$tmp/$binary" "$module/$pkg") || return 1
		rm -rf "$tmp/mod"
		;;
	esac
	if [[ ! -x $tmp/$binary ]]; then
		echo "$module/$pkg@$version did not produce $binary" >&2
		return 1
	fi
	if ! mv -T "$tmp" "$dest" 2>/dev/null; then
		# Another run installed it meanwhile.
		rm -rf "$tmp"
		[[ -x $dest/$binary ]] || return 1
	fi
	echo "built in $((SECONDS - start))s" >&2
}

# install_debian installs the missing Debian packages; apt-get update runs
# only when the first attempt fails (stale or absent package lists).
install_debian() {
	local pkgs=("$@") sudo=()
	if ((EUID != 0)); then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			log "error: missing commands; install the Debian packages as root: apt-get install ${pkgs[*]}"
			return 1
		fi
	fi
	# Another apt-get (unattended upgrades, a concurrent run) may hold the
	# dpkg lock: wait for it rather than fail.
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
	if ! "${apt[@]}" install -y --no-install-recommends "${pkgs[@]}"; then
		"${apt[@]}" update || return 1
		"${apt[@]}" install -y --no-install-recommends "${pkgs[@]}" || return 1
	fi
}

# candidate prints the first of the given Debian packages that apt can
# install.
candidate() {
	local p c
	for p in "$@"; do
		c=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^[[:space:]]*Candidate: //p')
		if [[ -n $c && $c != "(none)" ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

selected=("$@")
for w in "${selected[@]}"; do
	known=""
	for entry in "${go_peers[@]}" "${deb_peers[@]}"; do
		[[ ${entry%%|*} == "$w" ]] && known=1
	done
	if [[ -z $known ]]; then
		log "error: unknown peer '$w' (want one of: registry token-server oras crane regctl notation helm cosign docker skopeo podman buildah htpasswd openssl dbus-daemon gnome-keyring)"
		exit 2
	fi
done
mkdir -p "$peers_dir" "$bin" "$logs"
start=$SECONDS

# Debian packages first, in the background: apt is I/O-bound, the Go builds
# are CPU-bound.
deb_groups=() # per missing command, the packages that may provide it
for entry in "${deb_peers[@]}"; do
	IFS='|' read -r name cmd pkgs <<<"$entry"
	want "$name" || continue
	command -v "$cmd" >/dev/null && continue
	deb_groups+=("$pkgs")
done
apt_pid=""
if ((${#deb_groups[@]} > 0)); then
	log "installing from Debian: ${deb_groups[*]} (log: $logs/apt.log)"
	rm -f "$logs/apt.rc"
	(
		rc=0
		pkgs=()
		for group in "${deb_groups[@]}"; do
			# shellcheck disable=SC2086 # group is a list of names
			if ! p=$(candidate $group); then
				# No candidate: the package lists are absent or stale.
				# Update them once and choose again.
				if [[ -z ${updated:-} ]]; then
					if ((EUID == 0)); then s=(); else s=(sudo -n); fi
					"${s[@]}" apt-get -q -o DPkg::Lock::Timeout=600 update || rc=1
					updated=1
				fi
				# shellcheck disable=SC2086
				p=$(candidate $group) || p=${group%% *}
			fi
			pkgs+=("$p")
		done
		((rc == 0)) && { install_debian "${pkgs[@]}" || rc=1; }
		echo "$rc" >"$logs/apt.rc"
	) >"$logs/apt.log" 2>&1 &
	apt_pid=$!
fi

# Go peers, PEERS_JOBS at a time.
declare -A pids=()
for entry in "${go_peers[@]}"; do
	IFS='|' read -r name method module version pkg binary requires <<<"$entry"
	want "$name" || continue
	if [[ -x $peers_dir/$name-$version/$binary ]]; then
		log "$name $version already installed, skipping"
		continue
	fi
	# apt runs beside the builds without taking one of their slots.
	while :; do
		limit=$jobs
		[[ -n $apt_pid ]] && kill -0 "$apt_pid" 2>/dev/null && limit=$((jobs + 1))
		(($(jobs -rp | wc -l) < limit)) && break
		wait -n || true
	done
	log "building $name $version ($module/$pkg@$version; log: $logs/$name.log)"
	rm -f "$logs/$name.rc"
	{
		rc=0
		build_go_peer "$name" "$method" "$module" "$version" "$pkg" "$binary" "$requires" || rc=1
		echo "$rc" >"$logs/$name.rc"
	} >"$logs/$name.log" 2>&1 &
	pids[$name]=$!
done

# Every job records its status in <log>.rc: `wait -n` above may already have
# reaped it.
wait
failed=()
for name in "${!pids[@]}"; do
	if [[ $(cat "$logs/$name.rc" 2>/dev/null) == 0 ]]; then
		log "$name: $(tail -n 1 "$logs/$name.log")"
	else
		log "error: building $name failed; its log ($logs/$name.log) ends:"
		tail -n 30 "$logs/$name.log" >&2
		failed+=("$name")
	fi
done
if [[ -n $apt_pid ]]; then
	if [[ $(cat "$logs/apt.rc" 2>/dev/null) == 0 ]]; then
		log "Debian packages installed"
	else
		log "error: apt-get failed; its log ($logs/apt.log) ends:"
		tail -n 30 "$logs/apt.log" >&2
		failed+=(apt)
	fi
fi
if ((${#failed[@]} > 0)); then
	log "error: failed: ${failed[*]}"
	exit 1
fi

# Link every peer into one directory and record the versions.
versions=$(mktemp "$bin/.VERSIONS.XXXXXX")
for entry in "${go_peers[@]}"; do
	IFS='|' read -r name method module version pkg binary requires <<<"$entry"
	if [[ -x $peers_dir/$name-$version/$binary ]]; then
		ln -sfn "$peers_dir/$name-$version/$binary" "$bin/$binary"
		printf '%s %s %s\n' "$name" "$version" "$module/$pkg" >>"$versions"
	fi
done
for entry in "${deb_peers[@]}"; do
	IFS='|' read -r name cmd pkgs <<<"$entry"
	path=$(command -v "$cmd") || continue
	[[ $path == "$bin/$cmd" ]] && path=$(readlink -f "$path")
	ln -sfn "$path" "$bin/$cmd"
	case $name in
	docker) v=$("$path" --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/\1/p') ;;
	skopeo) v=$("$path" --version 2>/dev/null | sed -n 's/^skopeo version \([^ ]*\).*/\1/p') ;;
	podman) v=$("$path" --version 2>/dev/null | sed -n 's/^podman version \([^ ]*\).*/\1/p') ;;
	buildah) v=$("$path" --version 2>/dev/null | sed -n 's/^buildah version \([^ ]*\).*/\1/p') ;;
	openssl) v=$("$path" version 2>/dev/null | awk '{print $2}') ;;
	*) v=$(dpkg-query -W -f '${Version}' "${pkgs%% *}" 2>/dev/null || true) ;;
	esac
	printf '%s %s %s\n' "$name" "${v:-unknown}" "$path" >>"$versions"
done
chmod 644 "$versions"
mv -f "$versions" "$bin/VERSIONS"

log "done in $((SECONDS - start))s"
echo "$bin"
