#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a kernel from Debian's linux-source-6.12 (apt's candidate), cached
# outside git: `make tinyconfig`, the fragments merged in order, `make
# olddefconfig` (an option of a fragment that it dropped is an error), then
# `nice -n 19 make -j2` bzImage and the modules. Options: $USAGE below.
#
# --prepare: `CMD <entry>/src` before each build; it must replace files, not
# write into them (the tree is hard-linked to the pristine one). --rebuild:
# DIR's objects removed first, so that this run's log has their warnings.
# Cache: <cache>/kbuild/: src/SRCVER/ (pristine), and an entry SRCVER-HASH
# per source and configuration (key: what HASH is of), locked while in use;
# a reused one runs `make` only for --prepare or --rebuild. Prints K_SRCVER
# K_KDIR K_VMLINUZ K_MAP K_ABI K_MODDIR K_LOG K_SECONDS K_FULL_SECONDS
# (KEY=value lines) for host.sh's kernel_build.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
readonly KB=$CACHE/kbuild
# Bump when the layout of an entry or the way it is built changes.
readonly FORMAT=1

USAGE="--config FRAGMENT... [--prepare CMD] [--rebuild DIR]..."
# The cache key names both.
readonly source=linux-source-6.12 base=tinyconfig
prepare="" config=() rebuild=()
parse_options config prepare rebuild -- "$@"
((${#config[@]})) || usage "at least one --config fragment"
for f in "${config[@]}"; do [[ -f $f ]] || die "config fragment $f not found"; done
[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, $CACHE)"
need make gcc g++ bc bison flex libelf-dev libssl-dev dwarves kmod cpio xz-utils python3

candidate() {
	apt-cache policy -- "$source" 2>/dev/null |
		awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}
version=$(candidate)
[[ -n $version ]] || { "${APT[@]}" update >&2; version=$(candidate); }
[[ -n $version ]] || die "apt knows no $source"
srcver=$(tr -c 'A-Za-z0-9.+_\n-' '_' <<<"$version")
pristine=$KB/src/$srcver
mkdir -p "$KB/src"
lock "$KB/src/.lock-$srcver"
[[ -f $pristine/.complete ]] || linux_source "$source" "$version" "$pristine"
unlock

key=$(
	printf '%s\n' "format $FORMAT" "source $source=$version" "base $base" "prepare $prepare" \
		"gcc $(gcc --version | head -n 1)" "ld $(ld --version | head -n 1)" "pahole $(pahole --version)"
	for f in "${config[@]}"; do
		echo "fragment ${f##*/}"
		# The options, not the comments, decide the kernel.
		grep -E '^(CONFIG_|# CONFIG_.* is not set)' "$f"
	done
)
entry=$KB/$srcver-$(sha256sum <<<"$key" | cut -c1-12)
src=$entry/src build=$entry/build
mkdir -p "$entry"
lock "$entry/.lock"
printf '%s\n' "$key" >"$entry/key"

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

if [[ ! -f $entry/.configured ]]; then
	rm -rf "$build" "$entry/modules" "$entry/.complete"
	mkdir -p "$build"
	log "configuring: $base + ${config[*]##*/}"
	kmake "$base" >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "${config[@]}" >&2
	kmake olddefconfig >&2
	# Every option the fragments set has that value in .config (unset: n).
	awk -v prog="${0##*/}" '
		{ opt = "" }
		match($0, /^CONFIG_[A-Za-z0-9_]+=/) { opt = substr($0, 1, RLENGTH - 1) }
		opt != "" { val = substr($0, RLENGTH + 1) }
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { opt = $2; val = "n" }
		opt == "" { next }
		FNR == NR { got[opt] = val; next }
		{ have = (opt in got) ? got[opt] : "n"; frag = FILENAME; sub(/.*\//, "", frag) }
		have != val { bad = 1; printf "%s: %s: %s=%s, .config: %s\n", prog, frag, opt, val, have }
		END { exit bad }' "$build/.config" "${config[@]}" >&2 ||
		die "olddefconfig dropped options the fragments set (unmet dependencies?)"
	touch "$entry/.configured"
fi

for d in "${rebuild[@]}"; do
	if [[ -d $build/$d ]]; then
		find "$build/$d" -maxdepth 1 \( -name '*.o' -o -name '*.ko' -o -name '*.a' \) -delete
		must_run_make=1
	fi
done

run_log="" seconds=0
if [[ ! -f $entry/.complete ]] || ((must_run_make)); then
	mkdir -p "$entry/logs"
	run_log=$entry/logs/$(date +%Y%m%d-%H%M%S).log
	log "building bzImage modules with -j2 (log: $run_log)"
	SECONDS=0
	kmake -j2 bzImage modules >"$run_log" 2>&1 ||
		{ tail -n 40 "$run_log" >&2; die "kernel build failed (log: $run_log)"; }
	seconds=$SECONDS
	rm -rf "$entry/modules"
	kmake INSTALL_MOD_PATH="$entry/modules" DEPMOD=/sbin/depmod modules_install \
		>>"$run_log" 2>&1 || die "modules_install failed (log: $run_log)"
	[[ -f $entry/full-build-seconds ]] || echo "$seconds" >"$entry/full-build-seconds"
	date -u +%FT%TZ >"$entry/.complete"
	log "built in ${seconds}s"
fi

kver=$(cat "$build/include/config/kernel.release")
printf 'K_%s\n' "SRCVER=$srcver" "KDIR=$build" "VMLINUZ=$build/arch/x86/boot/bzImage" \
	"MAP=$build/System.map" "ABI=$kver" "MODDIR=$entry/modules/lib/modules/$kver" \
	"LOG=$run_log" "SECONDS=$seconds" "FULL_SECONDS=$(cat "$entry/full-build-seconds")"
