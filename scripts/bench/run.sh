#!/usr/bin/env bash
# run.sh is the body of `make bench` (issue 8): a whole-process benchmark of
# docker-credential-notation side by side with the credential helpers people
# use today, which writes BENCHMARKS.md and its chart.
#
#  1. Installs what is missing (Debian: hyperfine, gnuplot-nox, pass, gnupg,
#     dbus, gnome-keyring, libsecret-1-dev, GNU time, jq, gcc) and builds, once,
#     into a cache outside the repository: docker-credential-pass and
#     docker-credential-secretservice (docker-credential-helpers v0.9.13),
#     docker-credential-ecr-login (v0.12.0) and docker-credential-gcr (v2.2.1).
#     Every run builds this helper with the Makefile's flags (and three
#     variants), a Go hello-world with the same flags (the floor), and its
#     own small tools (scripts/bench/populate, sidebyside, withstdin.c and
#     faultcost.c, which measures what a page fault costs here).
#  2. Starts, in throwaway directories, what the helpers need: a gpg key
#     without passphrase and a pass store; for each helper that uses a Secret
#     Service, its own gnome-keyring on its own private D-Bus session bus (so
#     one helper's items never slow another's); primed ECR and gcr token
#     caches. Nothing of the user's own (HOME, session bus, keyrings, gpg,
#     docker config) is read or touched.
#  3. For 1, 100, 1000 and 10000 stored entries, times get, list, store and
#     erase of every helper (and this helper's kubelet-provider answering
#     from its file store) with hyperfine (-N: no shell), takes each
#     command's peak RSS with GNU time, and records GODEBUG=inittrace=1 and
#     binary sizes. After each count's hyperfine pass, scripts/bench/sidebyside
#     times the hello-world, docker-credential-gcr's cached get and this
#     helper's file-store get at that count (at 1 entry also its unlocked,
#     token-exchange and workload gets) in interleaved rounds, so that drift
#     of the machine, which moves hyperfine's one-after-another rows apart,
#     slows them alike: issue 16's targets are ratios from that run. Then
#     the in-process Go benchmarks of filestore.
#  4. scripts/bench/report turns the results into BENCHMARKS.md (its prose is
#     scripts/bench/report/BENCHMARKS.md.tmpl) and a gnuplot chart,
#     docs/bench/latency.png.
#
# Environment:
#   BENCH_QUICK=1      1 and 100 entries and few runs, to check the harness;
#                      its report and chart go to the results directory,
#                      not BENCHMARKS.md (unless BENCH_REPORT says otherwise)
#   BENCH_COUNTS       entry counts (default "1 100 1000 10000", quick "1 100")
#   BENCH_CACHE        cache directory (default
#                      ${XDG_CACHE_HOME:-$HOME/.cache}/docker-credential-notation/bench)
#   BENCH_REPORT       the Markdown report to write (default BENCHMARKS.md)
#   BENCH_CHART        the chart to write (default docs/bench/latency.png)
#   BENCH_NO_INSTALL=1 never run apt-get; fail if something is missing
#
# The stores live under BENCH_CACHE/work (a disk, as the user's own would
# be; /tmp may be a tmpfs where fsync costs nothing), the raw results under
# BENCH_CACHE/results/<time>/: hyperfine JSON per command, rss.tsv,
# inittrace.tsv, gobench.txt, meta.json, run.log, and sidebyside/<count>.json.
set -euo pipefail

# The helpers compared, one line each:
#   id|label|driver[:argument]|largest entry count|actions|why it stops there
# A driver is the set of functions <driver>_setup, <driver>_grow and
# <driver>_key below. Adding a backend of this helper is one line with the
# notation driver, whose argument is DOCKER_CREDENTIAL_NOTATION_BACKEND.
HELPERS=(
	"notation-file|docker-credential-notation (file store)|notation:file|10000|get list store erase kubelet|"
	"notation-unlocked|docker-credential-notation (file store, key protected by a passphrase, unlocked)|unlocked|10000|get|"
	"notation-keychain|docker-credential-notation (keychain)|notation:keychain|1000|get list store erase|gnome-keyring rewrites its whole keyring file on every item it writes, so filling 10,000 entries, and every timed store and erase at that size, would take too long"
	"notation-tokenexchange|docker-credential-notation (token exchange, cached token)|tokenexchange|1|get|the cached access token of one registry is what it measures"
	"notation-workload|docker-credential-notation (workload exchange, cached)|workload|1|get|the cached credential of one workload registry is what it measures"
	"pass|docker-credential-pass 0.9.13|pass|10000|get list store erase|"
	"secretservice|docker-credential-secretservice 0.9.13|secretservice|1000|get list store erase|gnome-keyring rewrites its whole keyring file on every item it adds (about 0.1 ms per stored item per added item here), so 10,000 entries would take over an hour to fill"
	"ecr|docker-credential-ecr-login 0.12.0 (cached token)|ecr|10000|get|"
	"gcr|docker-credential-gcr 2.2.1 (cached token)|gcr|1|get|its store holds one Google credential"
)

# Comparison helpers, pinned.
HELPERS_MODULE=github.com/docker/docker-credential-helpers
HELPERS_VERSION=v0.9.13
ECR_PKG=github.com/awslabs/amazon-ecr-credential-helper/ecr-login/cli/docker-credential-ecr-login
ECR_VERSION=v0.12.0
GCR_PKG=github.com/GoogleCloudPlatform/docker-credential-gcr/v2
GCR_VERSION=v2.2.1

# Go packages whose in-process benchmarks go into the report.
GO_BENCH_PKGS=(./filestore/)

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---------------------------------------------------------------------------
# Outer part: install, build, start the private session bus, report.

install_missing() {
	local pkgs=() c
	for c in hyperfine:hyperfine gnuplot:gnuplot-nox pass:pass gpg:gnupg gpgconf:gnupg \
		dbus-run-session:dbus dbus-send:dbus gnome-keyring-daemon:gnome-keyring \
		jq:jq gcc:gcc pkg-config:pkg-config; do
		command -v "${c%%:*}" >/dev/null || pkgs+=("${c#*:}")
	done
	[[ -x /usr/bin/time ]] || pkgs+=(time)
	pkg-config --exists libsecret-1 2>/dev/null || pkgs+=(libsecret-1-dev)
	# Static linking of withstdin needs libc.a.
	[[ -e /usr/lib/x86_64-linux-gnu/libc.a || -e /usr/lib/aarch64-linux-gnu/libc.a || -e /usr/lib/libc.a ]] ||
		ls /usr/lib/*/libc.a >/dev/null 2>&1 || pkgs+=(libc6-dev)
	[[ ${#pkgs[@]} -eq 0 ]] && return
	mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
	if [[ ${BENCH_NO_INSTALL:-} == 1 ]] || ! command -v apt-get >/dev/null; then
		die "missing: ${pkgs[*]}; install them (Debian/Ubuntu: apt-get install ${pkgs[*]})"
	fi
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	log "installing ${pkgs[*]}"
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
}

# go_third_party runs the go command outside this module, for building the
# comparison helpers from the module cache.
go_third_party() {
	(cd "$SCRATCH" && GOFLAGS='' GOWORK=off go "$@")
}

build_comparisons() {
	local dir=$CACHEBIN
	mkdir -p "$dir"
	if [[ ! -x $dir/docker-credential-pass || ! -x $dir/docker-credential-secretservice ]]; then
		log "building docker-credential-pass and -secretservice $HELPERS_VERSION"
		local src
		src=$(go_third_party mod download -json "$HELPERS_MODULE@$HELPERS_VERSION" | jq -r .Dir)
		[[ -d $src ]] || die "go mod download $HELPERS_MODULE@$HELPERS_VERSION failed"
		# The module cache is read-only; build from a writable copy with the
		# module's own vendor directory, as its Makefile does.
		rm -rf "$SCRATCH/dch" && cp -r "$src" "$SCRATCH/dch" && chmod -R u+w "$SCRATCH/dch"
		local x=-X\ $HELPERS_MODULE/credentials
		local ldflags="-s -w $x.Version=$HELPERS_VERSION $x.Package=$HELPERS_MODULE"
		(cd "$SCRATCH/dch" && GOFLAGS='' GOWORK=off CGO_ENABLED=0 go build -mod=vendor -trimpath \
			-ldflags "$ldflags $x.Name=docker-credential-pass" -o "$dir/docker-credential-pass" ./pass/cmd)
		(cd "$SCRATCH/dch" && GOFLAGS='' GOWORK=off CGO_ENABLED=1 go build -mod=vendor -trimpath \
			-ldflags "$ldflags $x.Name=docker-credential-secretservice" -o "$dir/docker-credential-secretservice" ./secretservice/cmd)
	fi
	# As their releases are built: static, stripped.
	if [[ ! -x $dir/docker-credential-ecr-login ]]; then
		log "building docker-credential-ecr-login $ECR_VERSION"
		GOBIN=$dir CGO_ENABLED=0 go_third_party install -trimpath -ldflags "-s -w" "$ECR_PKG@$ECR_VERSION"
	fi
	if [[ ! -x $dir/docker-credential-gcr ]]; then
		log "building docker-credential-gcr $GCR_VERSION"
		GOBIN=$dir CGO_ENABLED=0 go_third_party install -trimpath \
			-ldflags "-s -w -X $GCR_PKG/config.Version=${GCR_VERSION#v}" "$GCR_PKG@$GCR_VERSION"
	fi
}

# The builds of this helper that are compared: the Makefile's first (the one
# the main tables use: static, CGO_ENABLED=0, and the build tag
# urfave_cli_no_docs, which leaves urfave/cli's docs generator out), then
# what stripping the symbol tables changes, and a plain `go build` (cgo, so
# libc linked dynamically, and blackfriday and go-md2man linked).
#   name|extra ldflags|tags|CGO_ENABLED
VARIANTS=(
	"make build||urfave_cli_no_docs|0"
	"-s -w|-s -w|urfave_cli_no_docs|0"
	"plain go build (cgo, docs generator)|||1"
)

build_this() {
	local version
	version=$(cd "$ROOT" && git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
	log "building docker-credential-notation $version and its variants"
	local i=0 v name ldextra tags cgo out
	for v in "${VARIANTS[@]}"; do
		IFS='|' read -r name ldextra tags cgo <<<"$v"
		out=$RUNBIN/variant$i
		mkdir -p "$out"
		(cd "$ROOT" && CGO_ENABLED=$cgo go build -trimpath -tags "$tags" -ldflags "$ldextra -X main.version=$version" \
			-o "$out/docker-credential-notation" .)
		printf '%s\t%s\t%s\n' "$i" "$name" "$(stat -c %s "$out/docker-credential-notation")" >>"$RES/variants.tsv"
		i=$((i + 1))
	done
	ln -sf variant0/docker-credential-notation "$RUNBIN/docker-credential-notation"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$RUNBIN/hello" ./scripts/bench/hello)
	(cd "$ROOT" && go build -o "$RUNBIN/populate" ./scripts/bench/populate)
	(cd "$ROOT" && go build -o "$RUNBIN/sidebyside" ./scripts/bench/sidebyside)
	gcc -O2 -static -o "$RUNBIN/withstdin" "$ROOT/scripts/bench/withstdin.c"
	gcc -O2 -o "$RUNBIN/faultcost" "$ROOT/scripts/bench/faultcost.c"
}

write_meta() {
	local phase=$1
	case $phase in
	start)
		local cpu
		cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
		[[ -n $cpu ]] || cpu=$(awk -F': ' '/^(Hardware|CPU part)/ {print $2; exit}' /proc/cpuinfo)
		jq -n \
			--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
			--arg nproc "$(nproc)" \
			--arg cpu "$cpu" \
			--arg kernel "$(uname -sr)" \
			--arg arch "$(uname -m)" \
			--arg go "$(go version)" \
			--arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
			--arg hyperfine "$(hyperfine --version)" \
			--arg gpg "$(gpg --version | head -1)" \
			--arg pass "$(pass version 2>/dev/null | grep -o 'v[0-9.]*' | head -1)" \
			--arg keyring "$(gnome-keyring-daemon --version 2>/dev/null | head -1)" \
			--arg commit "$(cd "$ROOT" && git describe --tags --always --dirty 2>/dev/null || echo unknown)" \
			--arg quick "$QUICK" \
			--arg counts "$COUNTS" \
			--arg runs "warmup $WARMUP, $MIN_RUNS to $MAX_RUNS runs, RSS $RSS_RUNS runs, side by side $SBS_ROUNDS rounds after $SBS_WARMUP warm-up" \
			'{date:$date, nproc:$nproc, cpu:$cpu, kernel:$kernel, arch:$arch, go:$go,
			  load_start:$load, hyperfine:$hyperfine, gpg:$gpg, pass:$pass, keyring:$keyring,
			  commit:$commit, quick:($quick=="1"), counts:$counts, runs:$runs}' >"$RES/meta.json"
		;;
	end)
		local tmp=$RES/meta.json.tmp
		# What a fresh page costs here (scripts/bench/faultcost.c): every
		# process start is mostly page faults.
		local fault
		fault=$("$RUNBIN/faultcost" 2>/dev/null || echo unknown)
		jq --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg secs "$2" --arg fs "$3" --arg fault "$fault" \
			'. + {load_end:$load, duration_s:($secs|tonumber), filesystem:$fs, page_fault_us:$fault}' "$RES/meta.json" >"$tmp"
		mv "$tmp" "$RES/meta.json"
		;;
	esac
}

outer() {
	local start=$SECONDS
	QUICK=${BENCH_QUICK:-0}
	if [[ $QUICK == 1 ]]; then
		COUNTS=${BENCH_COUNTS:-"1 100"}
		WARMUP=1 MIN_RUNS=5 MAX_RUNS=20 RSS_RUNS=3 INIT_RUNS=5
		SBS_ROUNDS=20 SBS_WARMUP=3
	else
		COUNTS=${BENCH_COUNTS:-"1 100 1000 10000"}
		WARMUP=5 MIN_RUNS=20 MAX_RUNS=300 RSS_RUNS=7 INIT_RUNS=21
		# A round is one process of each command (up to 6 at 1 entry, about
		# 3 ms each): 210 rounds add a few seconds per count.
		SBS_ROUNDS=200 SBS_WARMUP=10
	fi
	CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-credential-notation/bench}
	mkdir -p "$CACHE"
	CACHE=$(cd "$CACHE" && pwd)
	[[ $CACHE != *[[:space:]]* ]] || die "BENCH_CACHE must not contain white space: $CACHE"

	install_missing
	command -v go >/dev/null || die "go not found"

	RES=$CACHE/results/$(date +%Y%m%d-%H%M%S)
	RUNBIN=$RES/bin
	CACHEBIN=$CACHE/bin/$(go env GOVERSION)-$(go env GOOS)-$(go env GOARCH)
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dcn-bench-build.XXXXXX")
	mkdir -p "$RES" "$RUNBIN"
	trap 'rm -rf "$SCRATCH"' EXIT
	log "results in $RES"
	write_meta start

	build_comparisons
	build_this

	# The stores, on the cache's disk. The keyring, gpg and home directories
	# are throwaway; the whole tree is removed at the end.
	WORK=$CACHE/work
	rm -rf "$WORK"
	mkdir -p "$WORK"/{home,data,config,run}
	chmod 700 "$WORK" "$WORK"/{home,run}
	# gpg-agent's socket path must stay short.
	GNUPGHOME=$(mktemp -d "${TMPDIR:-/tmp}/dcn-bench-gpg.XXXXXX")
	chmod 700 "$GNUPGHOME"
	trap 'rm -rf "$SCRATCH" "$GNUPGHOME" "$WORK"' EXIT

	export ROOT RES RUNBIN CACHEBIN WORK GNUPGHOME QUICK COUNTS WARMUP MIN_RUNS MAX_RUNS RSS_RUNS INIT_RUNS SBS_ROUNDS SBS_WARMUP
	log "measuring (counts: $COUNTS)"
	local fs
	fs=$(df -T "$WORK" | awk 'NR==2 {print $2}')
	env -u DBUS_SESSION_BUS_ADDRESS HOME="$WORK/home" XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" \
		XDG_RUNTIME_DIR="$WORK/run" XDG_CACHE_HOME="$WORK/home/.cache" \
		bash "${BASH_SOURCE[0]}" __measure

	if [[ ${#GO_BENCH_PKGS[@]} -gt 0 ]]; then
		log "in-process Go benchmarks: ${GO_BENCH_PKGS[*]}"
		local bt=()
		[[ $QUICK == 1 ]] && bt=(-benchtime 200ms)
		(cd "$ROOT" && go test -run '^$' -bench . -benchmem "${bt[@]}" "${GO_BENCH_PKGS[@]}") | tee "$RES/gobench.txt" >&2
	fi
	write_meta end $((SECONDS - start)) "$fs"

	local report=${BENCH_REPORT:-} chart=${BENCH_CHART:-}
	if [[ $QUICK == 1 ]]; then
		report=${report:-$RES/BENCHMARKS.md}
		chart=${chart:-$RES/latency.png}
	else
		report=${report:-$ROOT/BENCHMARKS.md}
		chart=${chart:-$ROOT/docs/bench/latency.png}
	fi
	mkdir -p "$(dirname "$chart")"
	(cd "$ROOT" && go run ./scripts/bench/report -results "$RES" -out "$report" -chart "$chart")
	gnuplot "$RES/plot.gp"
	# The builds are tens of MiB a run; the results are kept, not them.
	rm -rf "$RUNBIN"
	log "wrote $report and $chart in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------
# Inner part, in a throwaway HOME: environments, populating, timing.

declare -A BIN_OF ENV_OF HAVE BROKEN

# in_env ID COMMAND...: runs COMMAND with helper ID's environment.
in_env() {
	local id=$1
	shift
	local e=()
	[[ -n ${ENV_OF[$id]:-} ]] && mapfile -t e <<<"${ENV_OF[$id]}"
	env "${e[@]}" "$@"
}

# hrun ID ACTION INPUT: one call of helper ID; its output is shown only if
# it fails.
hrun() {
	local out
	out=$(in_env "$1" "$RUNBIN/withstdin" "$3" "${BIN_OF[$1]}" "$2" 2>&1) || {
		printf '%s %s: %s\n' "$1" "$2" "$out" >&2
		return 1
	}
}

# Entry i's server URL: the same names as scripts/bench/populate.
entry_url() { printf 'registry-%05d.example.com' "$1"; }

# --- the notation driver: this helper, the backend named by the argument.
notation_setup() {
	local id=$1 backend=$2
	BIN_OF[$id]=$RUNBIN/docker-credential-notation
	ENV_OF[$id]="DOCKER_CREDENTIAL_NOTATION_BACKEND=$backend
DOCKER_CREDENTIAL_NOTATION_STORE_DIR=$WORK/$id/store"
	[[ $backend == file ]] || start_secret_service "$id"
}
notation_grow() {
	local id=$1 backend=$2 from=$3 to=$4
	case $backend in
	file)
		# The first store generates the identity; populate then writes all
		# the entries in one go, encrypted to it.
		if [[ ! -e $WORK/$id/store/identity.txt ]]; then
			hrun "$id" store "$IN/store.json" || return
		fi
		"$RUNBIN/populate" notation-file -dir "$WORK/$id/store" -n "$to" || return
		;;
	keychain)
		in_env "$id" "$RUNBIN/populate" notation-keychain -from "$from" -to "$to" || return
		;;
	*)
		# A backend populate knows nothing of: one store per entry.
		in_env "$id" "$RUNBIN/populate" via-binary -bin "${BIN_OF[$id]}" -from "$from" -to "$to" || return
		;;
	esac
	# A store and an erase through the helper leave the store as the helper
	# itself writes it.
	hrun "$id" store "$IN/store.json" && hrun "$id" erase "$IN/erase"
}
notation_key() { entry_url $(($1 / 2)); }

# --- this helper's file store with its key protected by a passphrase
# (protect) and unlocked into the Linux kernel keyring (unlock): a get reads
# the identity from the kernel instead of identity.txt. populate writes with
# the plain key, so each grow undoes the protection first and redoes it
# after (a few untimed scrypt seconds per entry count).
UNLOCK_PASS=bench-unlock-passphrase
unlocked_setup() {
	notation_setup "$1" file
	printf '%s\n' "$UNLOCK_PASS" >"$WORK/$1.pass"
}
unlocked_grow() {
	local id=$1 from=$3 to=$4 pass=$WORK/$1.pass
	if [[ -e $WORK/$id/store/identity.age ]]; then
		in_env "$id" "$RUNBIN/withstdin" "$pass" "${BIN_OF[$id]}" protect --undo --passphrase-stdin >/dev/null || return
	fi
	notation_grow "$id" file "$from" "$to" || return
	in_env "$id" "$RUNBIN/withstdin" "$pass" "${BIN_OF[$id]}" protect --passphrase-stdin >/dev/null || return
	in_env "$id" "$RUNBIN/withstdin" "$pass" "${BIN_OF[$id]}" unlock --passphrase-stdin --for 2h >/dev/null
}
unlocked_key() { notation_key "$1"; }

# --- this helper's token exchange answering get from its cached access
# token: a registry configured with a loopback token endpoint, a refresh
# token stored for it, and one get while the endpoint runs, which trades the
# refresh token and caches the access token. The endpoint is then stopped:
# a timed get that tried the network would fail.
TE_REGISTRY=te.example.com
tokenexchange_setup() {
	local id=$1
	BIN_OF[$id]=$RUNBIN/docker-credential-notation
	ENV_OF[$id]="DOCKER_CREDENTIAL_NOTATION_BACKEND=file
DOCKER_CREDENTIAL_NOTATION_STORE_DIR=$WORK/$id/store
DOCKER_CREDENTIAL_NOTATION_CONFIG=$WORK/$id/config.json"
}
tokenexchange_grow() {
	local id=$1 d=$WORK/$1 pid i
	rm -f "$d/token-url"
	"$RUNBIN/populate" token-server -file "$d/token-url" &
	pid=$!
	for i in $(seq 100); do
		[[ -s $d/token-url ]] && break
		sleep 0.05
	done
	printf '{"registries":{"%s":{"tokenURL":"%s","clientID":"bench"}}}\n' "$TE_REGISTRY" "$(cat "$d/token-url")" >"$d/config.json"
	printf 'bench-refresh-token' >"$d/refresh-token"
	printf '%s' "$TE_REGISTRY" >"$d/url"
	local rc=0
	# login --refresh-token-stdin, not store: the helper exchanges only a
	# refresh token its own login bound to the provider.
	in_env "$id" "$RUNBIN/withstdin" "$d/refresh-token" "${BIN_OF[$id]}" login --refresh-token-stdin "$TE_REGISTRY" >/dev/null 2>&1 &&
		hrun "$id" get "$d/url" || rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	[[ $rc -eq 0 ]] || return "$rc"
	# Served from the cache: the access token, not the refresh token.
	local out
	out=$(in_env "$id" "$RUNBIN/withstdin" "$d/url" "${BIN_OF[$id]}" get 2>&1) || {
		echo "get from the cache failed: $out"
		return 1
	}
	jq -e '.Username == "oauth2accesstoken" and .Secret != "bench-refresh-token"' <<<"$out" >/dev/null 2>&1 || {
		echo "get did not answer with the cached access token: ${out:0:200}"
		return 1
	}
}
tokenexchange_key() { printf '%s' "$TE_REGISTRY"; }

# --- this helper's workload exchange answering get from its cached
# credential: a registry with a subject token file and a loopback token
# endpoint, one get while the endpoint runs (one RFC 8693 exchange), then
# the endpoint is stopped, as for the token-exchange row. The cached get
# reads the subject token file too (its identity binds the cache).
WL_REGISTRY=wl.example.com
workload_setup() { tokenexchange_setup "$@"; }
workload_grow() {
	local id=$1 d=$WORK/$1 pid i
	rm -f "$d/token-url"
	"$RUNBIN/populate" token-server -file "$d/token-url" &
	pid=$!
	for i in $(seq 100); do
		[[ -s $d/token-url ]] && break
		sleep 0.05
	done
	# A JWT-shaped subject token, as a projected service-account token is.
	printf 'eyJhbGciOiJSUzI1NiJ9.%s.c2lnbmF0dXJl\n' "$(printf '{"iss":"https://k8s.example","sub":"system:serviceaccount:ci:bench","aud":"sts"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')" >"$d/subject-token"
	chmod 600 "$d/subject-token"
	printf '{"registries":{"%s":{"tokenURL":"%s","subjectToken":{"file":"%s"}}}}\n' "$WL_REGISTRY" "$(cat "$d/token-url")" "$d/subject-token" >"$d/config.json"
	printf '%s' "$WL_REGISTRY" >"$d/url"
	local rc=0
	hrun "$id" get "$d/url" || rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	[[ $rc -eq 0 ]] || return "$rc"
	local out
	out=$(in_env "$id" "$RUNBIN/withstdin" "$d/url" "${BIN_OF[$id]}" get 2>&1) || {
		echo "get from the cache failed: $out"
		return 1
	}
	jq -e '.Username == "oauth2accesstoken" and (.Secret | length) > 0' <<<"$out" >/dev/null 2>&1 || {
		echo "get did not answer with the cached credential: ${out:0:200}"
		return 1
	}
}
workload_key() { printf '%s' "$WL_REGISTRY"; }

# --- docker-credential-pass: a gpg key without passphrase, a pass store.
pass_setup() {
	local id=$1
	BIN_OF[$id]=$CACHEBIN/docker-credential-pass
	ENV_OF[$id]="PASSWORD_STORE_DIR=$WORK/$id/store"
	gpg --batch --quiet --passphrase '' --quick-gen-key 'bench <bench@example.invalid>' future-default default never 2>/dev/null
	gpg --batch --quiet --check-trustdb >/dev/null 2>&1 || true
	local fpr
	fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr/ {print $10; exit}')
	in_env "$id" pass init "$fpr" >/dev/null
	# One entry stored by the helper itself; populate copies its encrypted
	# file, so every entry decrypts exactly as one the helper wrote.
	printf '{"ServerURL":"template.example.invalid","Username":"template","Secret":"%s"}' "$SECRET" >"$WORK/$id/template.json"
	hrun "$id" store "$WORK/$id/template.json"
	cp "$WORK/$id/store/docker-credential-helpers/$(printf template.example.invalid | base64 -w0 | tr '+/' '-_')/template.gpg" "$WORK/$id/template.gpg"
	printf template.example.invalid >"$WORK/$id/template.url"
	hrun "$id" erase "$WORK/$id/template.url"
}
pass_grow() {
	"$RUNBIN/populate" pass -dir "$WORK/$1/store" -template "$WORK/$1/template.gpg" -from "$3" -to "$4"
}
pass_key() { entry_url $(($1 / 2)); }

# --- docker-credential-secretservice.
secretservice_setup() {
	BIN_OF[$1]=$CACHEBIN/docker-credential-secretservice
	start_secret_service "$1"
}
secretservice_grow() { in_env "$1" "$RUNBIN/populate" secretservice -from "$3" -to "$4"; }
secretservice_key() { entry_url $(($1 / 2)); }

# start_secret_service ID: a private session bus with gnome-keyring on it,
# its login keyring created and unlocked, for helper ID alone.
BUS_PIDS=()
start_secret_service() {
	local id=$1 d=$WORK/$1/secret-service out addr pid
	mkdir -p "$d"/{home,data,run}
	chmod 700 "$d"/{home,run}
	out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1 2>>"$RES/dbus.log") ||
		die "dbus-daemon failed; see $RES/dbus.log"
	addr=$(sed -n 1p <<<"$out") pid=$(sed -n 2p <<<"$out")
	BUS_PIDS+=("$pid")
	ENV_OF[$id]="${ENV_OF[$id]:+${ENV_OF[$id]}
}DBUS_SESSION_BUS_ADDRESS=$addr"
	# --unlock reads the password on stdin and creates the login keyring
	# with it; the daemon exits when its bus goes away.
	printf '%s' "bench-$RANDOM$RANDOM" |
		env DBUS_SESSION_BUS_ADDRESS="$addr" HOME="$d/home" XDG_DATA_HOME="$d/data" XDG_RUNTIME_DIR="$d/run" \
			gnome-keyring-daemon --unlock --components=secrets >/dev/null
	local i
	for i in $(seq 100); do
		DBUS_SESSION_BUS_ADDRESS=$addr dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
			/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
			grep -q true && break
		sleep 0.1
	done
	[[ $i -lt 100 ]] || die "gnome-keyring-daemon did not come up on the session bus for $id"
}

# --- Amazon ECR helper answering from its cache: fake but well-formed
# credentials, so its cache key can be computed, and no network.
ECR_REGION=us-east-1
ecr_setup() {
	BIN_OF[$1]=$CACHEBIN/docker-credential-ecr-login
	ENV_OF[$1]="AWS_ACCESS_KEY_ID=AKIABENCHMARK0000000
AWS_SECRET_ACCESS_KEY=benchmark-secret-access-key
AWS_REGION=$ECR_REGION
AWS_EC2_METADATA_DISABLED=true
AWS_ECR_CACHE_DIR=$WORK/$1"
}
ecr_grow() {
	in_env "$1" "$RUNBIN/populate" ecr -dir "$WORK/$1" -n "$4" -access-key-id AKIABENCHMARK0000000 -region "$ECR_REGION"
}
ecr_key() { printf '%d.dkr.ecr.%s.amazonaws.com' $((100000000000 + $1 / 2)) "$ECR_REGION"; }

# --- docker-credential-gcr answering from its own store.
gcr_setup() {
	BIN_OF[$1]=$CACHEBIN/docker-credential-gcr
	mkdir -p "$WORK/$1"
	ENV_OF[$1]="DOCKER_CREDENTIAL_GCR_STORE=$WORK/$1/store.json"
}
gcr_grow() { "$RUNBIN/populate" gcr -file "$WORK/$1/store.json"; }
gcr_key() { printf gcr.io; }

# check ID N: the helper answers get (and list) as expected at N entries,
# so that nothing below times an error path. On failure it says why on
# stdout and returns 1.
check() {
	local id=$1 n=$2 driver=$3 actions=$4 out
	"${driver}_key" "$n" >"$IN/get-$id-$n"
	if ! out=$(in_env "$id" "$RUNBIN/withstdin" "$IN/get-$id-$n" "${BIN_OF[$id]}" get 2>&1); then
		echo "get failed: ${out:0:300}"
		return 1
	fi
	if ! jq -e '.Secret | length > 0' <<<"$out" >/dev/null 2>&1; then
		echo "get gave an unexpected answer: ${out:0:200}"
		return 1
	fi
	if [[ " $actions " == *" kubelet "* ]]; then
		# kubelet's request for an image in the registry get asks for. An
		# answer without the credential is recorded as the kubelet row's
		# failure (an empty auth is a fast path, not the one measured); the
		# other actions are still timed.
		printf '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"%s/app:1"}' \
			"$(cat "$IN/get-$id-$n")" >"$IN/kubelet-$id-$n"
		if ! out=$(in_env "$id" "$RUNBIN/withstdin" "$IN/kubelet-$id-$n" "${BIN_OF[$id]}" kubelet-provider 2>&1) ||
			! jq -e '.auth | length > 0' <<<"$out" >/dev/null 2>&1; then
			failed "$id.kubelet.$n" "kubelet-provider gave an unexpected answer: ${out:0:200}" >&2
			rm -f "$IN/kubelet-$id-$n"
		fi
	fi
	if [[ " $actions " == *" list "* ]]; then
		local got
		got=$(in_env "$id" "$RUNBIN/withstdin" "$IN/list" "${BIN_OF[$id]}" list 2>&1 | jq length 2>&1)
		if [[ $got != "$n" ]]; then
			echo "list returned $got entries"
			return 1
		fi
	fi
}

# failed NAME REASON: records that a measurement could not be made; the
# report shows it, and the run goes on with the other helpers.
failed() {
	printf '%s\n' "$2" | head -c 600 >"$RES/$1.failed"
	log "FAILED $1: $2"
}

q() { printf '%q ' "$@"; }

# bench NAME ID ACTION INPUT [PREPARE-INPUT PREPARE-ACTION]: times one
# command with hyperfine and takes its peak RSS with GNU time.
bench() {
	local name=$1 id=$2 action=$3 input=$4 pin=${5:-} paction=${6:-} bin=${BIN_OF[$2]}
	local prep=()
	[[ -n $pin ]] && prep=(--prepare "$(q "$RUNBIN/withstdin" "$pin" "$bin" "$paction")")
	if ! in_env "$id" hyperfine -N --style basic --warmup "$WARMUP" --min-runs "$MIN_RUNS" --max-runs "$MAX_RUNS" \
		"${prep[@]}" --export-json "$RES/$name.json" -n "$name" \
		"$(q "$RUNBIN/withstdin" "$input" "$bin" "$action")" >>"$RES/run.log" 2>&1; then
		# A run failed (hyperfine stops at a non-zero exit): say how.
		rm -f "$RES/$name.json"
		local out
		[[ -n $pin ]] && in_env "$id" "$RUNBIN/withstdin" "$pin" "$bin" "$paction" >/dev/null 2>&1
		out=$(in_env "$id" "$RUNBIN/withstdin" "$input" "$bin" "$action" 2>&1) &&
			out="a run exited non-zero; a rerun succeeded (intermittent; see run.log)"
		failed "$name" "$out"
		return 0
	fi
	local r kb
	for r in $(seq "$RSS_RUNS"); do
		[[ -n $pin ]] && in_env "$id" "$RUNBIN/withstdin" "$pin" "$bin" "$paction" >/dev/null
		in_env "$id" /usr/bin/time -f %M -o "$RES/rss.tmp" "$RUNBIN/withstdin" "$input" "$bin" "$action" >/dev/null
		kb=$(tail -1 "$RES/rss.tmp")
		printf '%s\t%s\n' "$name" "$kb" >>"$RES/rss.tsv"
	done
	log "$(jq -r --arg kb "$kb" '.results[0] | "\(.command): median \(.median*1000*100|round/100) ms (\(.times|length) runs), \($kb) KiB"' "$RES/$name.json")"
}

# inittrace NAME ID ACTION INPUT: GODEBUG=inittrace=1, INIT_RUNS times.
inittrace() {
	local name=$1 id=$2 action=$3 input=$4 r
	for r in $(seq "$INIT_RUNS"); do
		in_env "$id" env GODEBUG=inittrace=1 "$RUNBIN/withstdin" "$input" "${BIN_OF[$id]}" "$action" 2>&1 >/dev/null |
			awk -v name="$name" -v r="$r" '$1 == "init" && $7 == "clock," {print name "\t" r "\t" $2 "\t" $5 "\t" $8 "\t" $10}' >>"$RES/inittrace.tsv"
	done
}

# sbs_ready ID N: helper ID was set up, filled to N entries and checked,
# so its get at N answers from its store.
sbs_ready() { [[ -n ${BIN_OF[$1]:-} && -z ${BROKEN[$1]:-} && ${HAVE[$1]:-0} == "$2" ]]; }

# sbs_command NAME ID INPUT ARG...: one command of a sidebyside spec, as a
# JSON line. sidebyside inherits no environment, so the command's is
# written out whole: jq's $ENV, run under in_env, is exactly what in_env
# gives the helper in the hyperfine runs.
sbs_command() {
	local name=$1 id=$2 input=$3
	shift 3
	# shellcheck disable=SC2016 # $name, $ENV and the others are jq's
	in_env "$id" jq -cn --arg name "$name" --arg stdin "$input" \
		'{name: $name, argv: $ARGS.positional, env: ($ENV | to_entries | map("\(.key)=\(.value)")), stdin: $stdin}' \
		--args "$@"
}

# sidebyside N: the ratios issue 16's targets judge, from one run of
# scripts/bench/sidebyside, which interleaves its commands round by round,
# so the machine's drift slows them alike: the hello-world, gcr's cached
# get (its one credential, filled at 1 entry, stays valid for the hour
# populate gives it) and the file store's get at N entries; at 1 entry also
# the unlocked, token-exchange and workload rows' get, and at every count
# the file store's kubelet-provider answer. The token-exchange and workload rows
# answer from their caches: their _grow stopped the token endpoint before
# their hyperfine rows were timed, and it stays stopped, so a get that
# tried the network would fail the run. Results go to
# $RES/sidebyside/N.json (a subdirectory: the report reads $RES/*.json as
# hyperfine exports); a failure is sidebyside.N.failed.
sidebyside() {
	local n=$1 dir=$RES/sidebyside lines id
	mkdir -p "$dir"
	lines=$(sbs_command hello hello "$IN/empty" "$RUNBIN/hello")
	if sbs_ready gcr 1; then
		lines+=$'\n'$(sbs_command gcr.get gcr "$IN/get-gcr-1" "${BIN_OF[gcr]}" get)
	fi
	local ids=(notation-file)
	[[ $n == 1 ]] && ids+=(notation-unlocked notation-tokenexchange notation-workload)
	for id in "${ids[@]}"; do
		sbs_ready "$id" "$n" || continue
		lines+=$'\n'$(sbs_command "$id.get" "$id" "$IN/get-$id-$n" "${BIN_OF[$id]}" get)
	done
	# kubelet's request for the image in get's registry (check wrote it
	# when the answer had the credential): the kubelet target compares it
	# with get.
	if sbs_ready notation-file "$n" && [[ -e $IN/kubelet-notation-file-$n ]]; then
		lines+=$'\n'$(sbs_command notation-file.kubelet notation-file "$IN/kubelet-notation-file-$n" "${BIN_OF[notation-file]}" kubelet-provider)
	fi
	# The spec holds the whole environment of the run (whatever secrets
	# the caller's has): it stays in $WORK, which the run removes, readable
	# by its owner only.
	local spec=$WORK/sidebyside.$n.spec.json out
	(umask 077 && jq -s . <<<"$lines" >"$spec")
	if ! out=$("$RUNBIN/sidebyside" -rounds "$SBS_ROUNDS" -warmup "$SBS_WARMUP" -out "$dir/$n.json" "$spec" 2>&1); then
		rm -f "$dir/$n.json"
		failed "sidebyside.$n" "$out"
		return 0
	fi
	log "side by side, $n entries, $SBS_ROUNDS rounds: $(jq -r 'map("\(.name) \(.medianNs / 1e4 | round / 100) ms") | join(", ")' "$dir/$n.json")"
}

inner() {
	# The buses end with this script, and the keyrings with them.
	trap 'gpgconf --kill all 2>/dev/null; [[ ${#BUS_PIDS[@]} -eq 0 ]] || kill "${BUS_PIDS[@]}" 2>/dev/null; true' EXIT
	IN=$WORK/input
	mkdir -p "$IN"
	# A token-like 800-byte secret for the entry that store and erase move.
	SECRET=$(head -c 600 /dev/urandom | base64 -w0 | tr '+/' '-_')
	printf '{"ServerURL":"bench-store.example.com","Username":"bench","Secret":"%s"}' "$SECRET" >"$IN/store.json"
	printf 'bench-store.example.com' >"$IN/erase"
	printf 'unused' >"$IN/list" # what docker sends
	: >"$IN/empty"
	# The ECR helper reads AWS_* from the environment; none of the user's.
	unset AWS_CA_BUNDLE AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION

	BIN_OF[hello]=$RUNBIN/hello
	local line id label driver max actions note drv arg
	printf 'id\tlabel\tdriver\tmax\tactions\tbinary\tsize\tnote\n' >"$RES/helpers.tsv"
	for line in "${HELPERS[@]}"; do
		IFS='|' read -r id label driver max actions note <<<"$line"
		drv=${driver%%:*} arg=
		[[ $driver == *:* ]] && arg=${driver#*:}
		mkdir -p "$WORK/$id"
		"${drv}_setup" "$id" "$arg"
		HAVE[$id]=0
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$label" "$driver" "$max" "$actions" \
			"$(basename "${BIN_OF[$id]}")" "$(stat -L -c %s "${BIN_OF[$id]}")" "$note" >>"$RES/helpers.tsv"
	done

	local n
	for n in $COUNTS; do
		log "--- $n entries"
		# The floor, at every count so that drift over the run cancels out:
		# the hello-world directly, and through withstdin (what it adds is
		# subtracted from every helper's time).
		in_env hello hyperfine -N --style basic --warmup "$WARMUP" --min-runs "$MIN_RUNS" --max-runs "$MAX_RUNS" \
			--export-json "$RES/floor.direct.$n.json" -n "floor.direct.$n" "$(q "$RUNBIN/hello")" >>"$RES/run.log" 2>&1
		bench "floor.withstdin.$n" hello run "$IN/empty"
		for line in "${HELPERS[@]}"; do
			IFS='|' read -r id label driver max actions note <<<"$line"
			((n <= max)) || continue
			drv=${driver%%:*} arg=
			[[ $driver == *:* ]] && arg=${driver#*:}
			[[ -z ${BROKEN[$id]:-} ]] || continue
			local t=$SECONDS why
			if ! why=$("${drv}_grow" "$id" "$arg" "${HAVE[$id]}" "$n" 2>&1); then
				BROKEN[$id]=1
				failed "$id.populate.$n" "filling the store failed: $why"
				continue
			fi
			HAVE[$id]=$n
			log "$id: $n entries stored in $((SECONDS - t)) s"
			if ! why=$(check "$id" "$n" "$drv" "$actions"); then
				BROKEN[$id]=1
				failed "$id.populate.$n" "$why"
				continue
			fi
			local a
			for a in $actions; do
				case $a in
				get) bench "$id.get.$n" "$id" get "$IN/get-$id-$n" ;;
				list) bench "$id.list.$n" "$id" list "$IN/list" ;;
				kubelet)
					# kubelet's image credential provider, from the store get reads.
					if [[ -e $IN/kubelet-$id-$n ]]; then
						bench "$id.kubelet.$n" "$id" kubelet-provider "$IN/kubelet-$id-$n"
					fi
					;;
				store)
					# Each timed store adds the entry that prepare erased:
					# a real write (storing unchanged data may skip it).
					hrun "$id" store "$IN/store.json" || true
					bench "$id.store.$n" "$id" store "$IN/store.json" "$IN/erase" erase
					;;
				erase) bench "$id.erase.$n" "$id" erase "$IN/erase" "$IN/store.json" store ;;
				esac
			done
		done
		if [[ $n == 1 ]]; then
			# The builds of this helper, on the 1-entry file store.
			local i=0 v vname
			for v in "${VARIANTS[@]}"; do
				vname=variant$i
				BIN_OF[$vname]=$RUNBIN/variant$i/docker-credential-notation
				ENV_OF[$vname]=${ENV_OF[notation-file]}
				bench "$vname.get.1" "$vname" get "$IN/get-notation-file-1"
				# version touches no store: the cost of starting this binary.
				bench "$vname.version.1" "$vname" version "$IN/empty"
				inittrace "$vname" "$vname" get "$IN/get-notation-file-1"
				i=$((i + 1))
			done
			inittrace hello hello run "$IN/empty"
			for id in pass secretservice ecr gcr; do
				[[ -n ${BIN_OF[$id]:-} ]] && inittrace "$id" "$id" get "$IN/get-$id-1"
			done
		fi
		sidebyside "$n"
	done
}

if [[ ${1:-} == __measure ]]; then
	inner
else
	outer
fi
