#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a kernel from Debian's kernel source package, cached outside git.
#
#   kernel-build.sh [--source linux-source-6.12] [--version VER]
#                   [--base tinyconfig|defconfig|allnoconfig]
#                   --config <fragment> [--config <fragment>]...
#                   [--prepare <command>] [--rebuild <dir>] [--jobs N]
#                   [--configure-only]
#
# The kernel is configured with `make <base>`, then every fragment in order
# (scripts/kconfig/merge_config.sh), then `make olddefconfig`; every option a
# fragment sets must survive olddefconfig or the build stops (an option whose
# dependencies are unmet is an error, not a silent no). Then bzImage (and the
# modules, if CONFIG_MODULES=y, installed into the entry) are built with
# `nice -n 19 make -j<jobs>`, default -j2.
#
# Cache: ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/kbuild/
#   dl/                              the downloaded linux-source-*.deb
#   src/<srcver>/                    its unpacked tree, pristine
#   <srcver>-<hash>/                 one entry per source version + config:
#       key                          what <hash> is the sha256 of: source
#                                    version, base, fragments (content, in
#                                    order), --prepare command, toolchain
#       src/                         hard-linked copy of the pristine tree
#                                    (plus whatever --prepare put there)
#       build/                       O= output: a kbuild tree, usable as
#                                    `make -C <entry>/build M=<dir>`
#       modules/lib/modules/<kver>/  modules_install output (CONFIG_MODULES)
#       logs/<time>.log              each build's make output
#       full-build-seconds           how long the first complete build took
# An entry is reused as long as its key is the same: only `make` runs again,
# and only if --prepare or --rebuild asked for it; kbuild then rebuilds what
# changed. Entries are locked while used (flock), so parallel callers wait.
#
# --source PKG    Debian package with the source tarball (default
#                 linux-source-6.12); --version picks one of its versions
#                 (default: apt's candidate, i.e. the newest).
# --prepare CMD   run `CMD <entry>/src` before each build, e.g.
#                 scripts/pkg/intree-install.sh to put our preload sources into
#                 kernel/bpf/preload. CMD must replace files rather than write
#                 into them (the tree is hard-linked to the pristine copy) and
#                 keep unchanged files untouched. The command string is part of
#                 the key; what it copies is not (kbuild tracks that).
# --rebuild DIR   remove the objects built under DIR (relative to the tree,
#                 e.g. kernel/bpf/preload) first, so that they are compiled in
#                 this run and their warnings are in this run's log.
# --configure-only  stop once .config is made and checked (a quick way to
#                 try a new fragment); prints K_ENTRY= and K_CONFIG= only.
#
# On success prints KEY=value lines on stdout, the names scripts/lib/host.sh
# (kernel_build) uses; everything else goes to stderr:
#   K_ENTRY  K_SRCVER  K_SRC  K_KDIR (the kbuild tree)  K_VMLINUZ (bzImage)
#   K_MAP (System.map)  K_ABI (kernel release)
#   K_MODDIR   <entry>/modules/lib/modules/<kver>, empty without modules
#   K_LOG      this run's make log, empty if make did not run
#   K_SECONDS  how long this run's make took (0 if it did not run)
#   K_FULL_SECONDS  how long the entry's first complete build took
set -euo pipefail

readonly PROG=${0##*/}
readonly CACHE=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
readonly KB=$CACHE/kbuild
# Bump when the layout of an entry or the way it is built changes.
readonly FORMAT=1
readonly -a APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
# Host tools a kernel build needs, by Debian package.
readonly -a BUILD_DEPS=(make gcc g++ bc bison flex libelf-dev libssl-dev
	dwarves kmod cpio xz-utils python3)

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# Every option but --configure-only takes a value: --NAME sets $NAME,
# --config and --rebuild add to their lists.
source=linux-source-6.12 version="" base=tinyconfig prepare="" jobs=2 configure_only=0
fragments=() rebuild=()
while (($#)); do
	case $1 in
	--configure-only) configure_only=1; shift; continue ;;
	--source | --version | --base | --config | --prepare | --rebuild | --jobs)
		[[ -n ${2:-} ]] || die "$1 needs a value" ;;
	*) log "unknown argument: $1"; usage ;;
	esac
	case $1 in
	--config) fragments+=("$2") ;;
	--rebuild) rebuild+=("$2") ;;
	*) printf -v "${1#--}" '%s' "$2" ;;
	esac
	shift 2
done
[[ $source =~ ^linux-source-[0-9]+\.[0-9]+$ ]] || die "--source: want linux-source-X.Y, got $source"
case $base in tinyconfig | defconfig | allnoconfig) ;; *) die "--base: tinyconfig, defconfig or allnoconfig" ;; esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs: a positive number"
((${#fragments[@]})) || die "at least one --config fragment"
for f in "${fragments[@]}"; do [[ -f $f ]] || die "config fragment $f not found"; done
for d in "${rebuild[@]}"; do
	[[ $d =~ ^[A-Za-z0-9_][A-Za-z0-9_./-]*$ && $d != *..* ]] || die "--rebuild: a relative path in the tree, got $d"
done
[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, $CACHE)"

# --- host tools ----------------------------------------------------------------
mapfile -t missing < <(dpkg-query -W -f='${Status} ${Package}\n' "${BUILD_DEPS[@]}" 2>&1 |
	awk '$3 != "installed" { print $NF }')
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt-get "${APT_OPTS[@]}" -qq update >&2
	DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -y -qq \
		--no-install-recommends install "${missing[@]}" >&2 || die "cannot install ${missing[*]}"
fi

# --- source -------------------------------------------------------------------
candidate() {
	apt-cache policy -- "$source" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'
}
if [[ -z $version ]]; then
	version=$(candidate)
	if [[ -z $version || $version == "(none)" ]]; then
		apt-get "${APT_OPTS[@]}" -qq update >&2
		version=$(candidate)
	fi
	[[ -n $version && $version != "(none)" ]] || die "apt knows no $source"
fi
srcver=$(tr -c 'A-Za-z0-9.+_\n-' '_' <<<"$version")
pristine=$KB/src/$srcver
mkdir -p "$KB/dl" "$KB/src"

# Unpacks $source=$version into $pristine once; the .deb stays in dl/ under
# apt's name for it. Work in $tmp, removed on exit.
tmp=""
trap 'rm -rf "$tmp"' EXIT
ensure_source() {
	[[ -f $pristine/.complete ]] && return 0
	exec {lk}>"$KB/src/.lock-$srcver"
	flock "$lk"
	if [[ ! -f $pristine/.complete ]]; then
		local series=${source#linux-source-} deb=$KB/dl/${source}_${version//:/%3a}_all.deb
		tmp=$(mktemp -d "$KB/dl/.tmp.XXXXXX")
		if [[ ! -f $deb ]]; then
			log "downloading $source=$version"
			if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
			{ (cd "$tmp" && apt-get "${APT_OPTS[@]}" -qq download "$source=$version" >&2) &&
				mv "$tmp/${deb##*/}" "$deb"; } || die "apt-get download $source=$version failed"
		fi
		log "unpacking ${deb##*/}"
		{ dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/linux-source-$series.tar.xz" |
			tar -xJ -C "$tmp" && [[ -f $tmp/linux-source-$series/Makefile ]]; } ||
			die "cannot unpack linux-source-$series/ from $deb"
		rm -rf "$pristine"
		mv "$tmp/linux-source-$series" "$pristine"
		echo "$source=$version" >"$pristine/.complete"
	fi
	flock -u "$lk"
	exec {lk}>&-
}
ensure_source

# --- entry ----------------------------------------------------------------------
key_text() {
	echo "format $FORMAT"
	echo "source $source=$version"
	echo "base $base"
	echo "prepare $prepare"
	echo "gcc $(gcc --version | head -n 1)"
	echo "ld $(ld --version | head -n 1)"
	echo "pahole $(pahole --version)"
	local f
	for f in "${fragments[@]}"; do
		echo "fragment ${f##*/}"
		# The options, not the comments, decide the kernel.
		grep -E '^(CONFIG_|# CONFIG_.* is not set)' "$f"
	done
}
key=$(key_text)
hash=$(sha256sum <<<"$key" | cut -c1-12)
entry=$KB/$srcver-$hash
mkdir -p "$entry"
exec {entry_lock}>"$entry/.lock"
if ! flock -n "$entry_lock"; then
	log "waiting for another build of $entry"
	flock "$entry_lock"
fi
printf '%s\n' "$key" >"$entry/key"
src=$entry/src
build=$entry/build

if [[ ! -f $entry/.src-ready ]]; then
	rm -rf "$src"
	log "hard-linking $pristine to $src"
	cp -al "$pristine" "$src"
	rm -f "$src/.complete"
	touch "$entry/.src-ready"
fi

kmake() {
	nice -n 19 make -C "$src" O="$build" ARCH=x86_64 KBUILD_BUILD_USER=bpf-preload \
		KBUILD_BUILD_HOST=kernel-build "$@"
}

must_run_make=0
if [[ -n $prepare ]]; then
	log "preparing: $prepare $src"
	# shellcheck disable=SC2086 # the command may carry its own arguments
	$prepare "$src" >&2 || die "--prepare '$prepare' failed"
	must_run_make=1
fi

# Checks that every option the fragments set has that value in .config
# (an option .config does not set is n).
verify_config() {
	awk -v prog="$PROG" '
		{ opt = "" }
		/^CONFIG_[A-Za-z0-9_]+=/ { n = index($0, "="); opt = substr($0, 1, n - 1); val = substr($0, n + 1) }
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { opt = $2; val = "n" }
		opt == "" { next }
		FNR == NR { got[opt] = val; next }
		{ have = (opt in got) ? got[opt] : "n"; frag = FILENAME; sub(/.*\//, "", frag) }
		have != val { printf "%s: %s: %s=%s requested, .config has %s\n", prog, frag, opt, val, have; bad = 1 }
		END { exit bad }' "$build/.config" "${fragments[@]}" >&2
}

if [[ ! -f $entry/.configured ]]; then
	rm -rf "$build" "$entry/modules" "$entry/.complete"
	mkdir -p "$build"
	log "configuring: $base + ${fragments[*]##*/}"
	kmake "$base" >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" \
		"$build/.config" "${fragments[@]}" >&2
	kmake olddefconfig >&2
	verify_config || die "the fragments ask for options olddefconfig did not keep (unmet dependencies?)"
	touch "$entry/.configured"
fi

if ((configure_only)); then
	printf 'K_ENTRY=%s\nK_CONFIG=%s\n' "$entry" "$build/.config"
	exit 0
fi

for d in "${rebuild[@]}"; do
	if [[ -d $build/$d ]]; then
		find "$build/$d" -maxdepth 1 \( -name '*.o' -o -name '*.ko' -o -name '*.a' \) -delete
		must_run_make=1
	fi
done

modules=0
if grep -q '^CONFIG_MODULES=y' "$build/.config"; then modules=1; fi

run_log="" seconds=0
if [[ ! -f $entry/.complete ]] || ((must_run_make)); then
	mkdir -p "$entry/logs"
	run_log=$entry/logs/$(date +%Y%m%d-%H%M%S).log
	targets=(bzImage)
	if ((modules)); then targets+=(modules); fi
	log "building ${targets[*]} with -j$jobs (log: $run_log)"
	start=$SECONDS
	kmake -j"$jobs" "${targets[@]}" >"$run_log" 2>&1 ||
		{ tail -n 40 "$run_log" >&2; die "kernel build failed (log: $run_log)"; }
	seconds=$((SECONDS - start))
	if ((modules)); then
		rm -rf "$entry/modules"
		kmake INSTALL_MOD_PATH="$entry/modules" DEPMOD=/sbin/depmod modules_install >>"$run_log" 2>&1 ||
			die "modules_install failed (log: $run_log)"
	fi
	[[ -f $entry/full-build-seconds ]] || echo "$seconds" >"$entry/full-build-seconds"
	date -u +%FT%TZ >"$entry/.complete"
	log "built in ${seconds}s"
fi

kver=$(cat "$build/include/config/kernel.release")
moddir=""
if ((modules)); then moddir=$entry/modules/lib/modules/$kver; fi
printf 'K_%s\n' "ENTRY=$entry" "SRCVER=$srcver" "SRC=$src" "KDIR=$build" \
	"VMLINUZ=$build/arch/x86/boot/bzImage" "MAP=$build/System.map" "ABI=$kver" \
	"MODDIR=$moddir" "LOG=$run_log" "SECONDS=$seconds" \
	"FULL_SECONDS=$(cat "$entry/full-build-seconds")"
