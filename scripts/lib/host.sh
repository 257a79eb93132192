# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The host side of every check, sourced by the drivers in scripts/check/ (and
# bench/bench.sh), which it takes to the top of the tree: results and their
# tally, the kernels of $SUITES, the build environments (chroots), and VM
# boots whose KTAP output is counted.
set -o pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly TOP
cd "$TOP" || exit 1
readonly KERNELS=$TOP/scripts/kernel/kernels.sh
readonly CHROOT=$TOP/scripts/kernel/chroot.sh
# shellcheck source=scripts/lib/common.sh
. "$TOP/scripts/lib/common.sh"
# The Makefile's SUITES (the one list) when run from make; the same by hand.
: "${DEBIAN_SUITES:=bookworm trixie trixie-backports sid}" "${SUITES:=$DEBIAN_SUITES}"
# The kernels' Debian architecture; arch_facts sets KARCH and TRIPLET.
readonly ARCH_DEB=${BPF_PRELOAD_ARCH:-amd64}
arch_facts "$ARCH_DEB"
cross() { [ "$ARCH_DEB" != "$NATIVE" ]; }

# results_end records "P F S" in $BPF_PRELOAD_RESULT (check-all.sh).
results_begin() { R_NAME=$1 R_PASS=0 R_FAIL=0 R_SKIP=0 R_START=$SECONDS; }
results_begin check

result() { # result ok|skip|fail DESC
	case $1 in
	ok) R_PASS=$((R_PASS + 1)); echo "$R_NAME: ok - $2" ;;
	skip) R_SKIP=$((R_SKIP + 1)); echo "$R_NAME: SKIP - $2" ;;
	*) R_FAIL=$((R_FAIL + 1)); echo "$R_NAME: FAIL - $2" ;;
	esac
}

check() { if "${@:2}"; then result ok "$1"; else result fail "$1"; fi; } # check DESC CMD...

logged() { # logged DESC LOG CMD...: CMD's output in LOG; on failure its tail, a failure
	"${@:3}" >"$2" 2>&1 && return
	tail -n 30 "$2"
	result fail "$1 (log $2)"
	return 1
}
must() { logged "$@" && result ok "$1"; } # must DESC LOG CMD...: logged, a result either way

results_end() {
	echo "$R_NAME: $R_PASS passed, $R_FAIL failed, $R_SKIP skipped ($((SECONDS - R_START)) s)"
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$R_PASS $R_FAIL $R_SKIP" >"$BPF_PRELOAD_RESULT"
	[ "$R_FAIL" -eq 0 ]
}

# CMD, its results tallied for ARCH_DEB SUITE ABI too: the support table's
# row (scripts/check/check-all.sh).
per_kernel() { # per_kernel SUITE ABI CMD...
	local p=$R_PASS f=$R_FAIL s=$R_SKIP
	"${@:3}"
	mkdir -p "$TOP/build/results"
	printf '%s\t%s\t%s\t%s\t%d\t%d\t%d\n' "$R_NAME" "$ARCH_DEB" "$1" "$2" $((R_PASS - p)) \
		$((R_FAIL - f)) $((R_SKIP - s)) >>"$TOP/build/results/per-kernel"
}

kernel_matrix() { # "SUITE ABI" lines
	# shellcheck disable=SC2086 # a list of suites
	"$KERNELS" --arch "$ARCH_DEB" list $SUITES
}

# for_each_kernel FUNC ARGS...: per kernel, FUNC ARGS... SUITE ABI after
# kernel_use. A kernel that cannot be fetched is a failure, and FUNC does
# not run for it; so is a suite that lists none (the others still run).
for_each_kernel() {
	local list matrix entry suite abi
	if ! list=$(kernel_matrix) || [[ -z $list ]]; then
		result fail "kernel matrix of SUITES='$SUITES': a suite lists no kernel"
	fi
	mapfile -t matrix <<<"$list"
	for entry in "${matrix[@]}"; do
		read -r suite abi <<<"$entry"
		[[ -z $abi ]] || per_kernel "$suite" "$abi" with_kernel "$suite" "$abi" "$@"
	done
}
with_kernel() { # with_kernel SUITE ABI FUNC ARGS...: FUNC ARGS... SUITE ABI
	kernel_use "$1" "$2" || { result fail "$1 $2: fetch headers and image"; return 0; }
	"${@:3}" "$1" "$2"
}

# kernel_use SUITE ABI: fetched; K_KDIR is the headers in the build
# environment, K_KDIR_HOST the same on the host.
kernel_use() {
	unset K_SUITE K_ABI K_KDIR K_KDIR_HOST K_VMLINUZ K_MODDIR
	"$KERNELS" --arch "$ARCH_DEB" fetch "$1" "$2" || return
	local cached=$CACHE/kernels/$2
	K_SUITE=$1 K_ABI=$2 K_KDIR=/usr/src/linux-headers-$2
	# shellcheck disable=SC2034 # for the drivers
	K_KDIR_HOST=$("$CHROOT" path "$1")$K_KDIR \
		K_VMLINUZ=$cached/vmlinuz K_MODDIR=$cached/modules/$2
}

# kernel_build DESC DIR ARGS...: a kernel of our own (kernel-build.sh ARGS),
# no suite or build environment; kernel-build.sh reports the K_ variables
# in its log (key=value lines, read here, never evaluated).
kernel_build() {
	local desc=$1 log=$2/kernel-build.log k v
	mkdir -p "$2"
	shift 2
	unset K_SUITE K_ABI K_KDIR K_KDIR_HOST K_VMLINUZ K_MODDIR
	logged "$desc: the kernel builds" "$log" \
		"$TOP/scripts/kernel/kernel-build.sh" "$@" || return
	while IFS='=' read -r k v; do
		[[ ! $k =~ ^K_[A-Z_]+$ ]] || printf -v "$k" '%s' "$v"
	done <"$log"
	result ok "$desc: linux-source $K_SRCVER builds $K_ABI (this run ${K_SECONDS}s, first full build ${K_FULL_SECONDS}s)"
}

in_build_env() { "$CHROOT" run "${K_BUILD_SYSTEM:-$K_SUITE}" --bind "$TOP" "$@"; }

module_make() { # module_make DIR ARGS...
	local dir=$1 xargs=()
	shift
	cross && xargs=(ARCH="$KARCH" CROSS_COMPILE="$TRIPLET-")
	in_build_env make -C "$dir" KDIR="$K_KDIR" "${xargs[@]}" "$@"
}

copy_sources() { rm -rf "$1" && "$TOP/scripts/pkg/dkms-source.sh" "$1"; }

# pahole's "tag not supported" lines are warnings too (scripts/pahole-cxx.sh).
no_warnings() { ! grep -iE 'warning|tag not supported' "$1"; }

# clean DESC LOG CMD...: CMD's output in LOG, one result: it ran with zero warnings.
clean() { logged "$1" "$2" "${@:3}" && check "$1" no_warnings "$2"; }

# Built in a chroot of ARCH, not on the host: Debian 13's libelf.a (elfutils
# 0.192) lacks the objects it moved to the unshipped libeu.a, so cannot link
# statically. The same chroot is the guest's user space (busybox, bpftool).
# riscv64 is a release architecture from trixie on: sid's.
if [ "$ARCH_DEB" = riscv64 ]; then : "${PROGRAMS_SUITE:=sid}"; else : "${PROGRAMS_SUITE:=bookworm}"; fi
readonly GUEST_SYSTEM=$PROGRAMS_SUITE:$ARCH_DEB
if cross; then PROGRAMS_BIN=$TOP/build/$ARCH_DEB/bin; else PROGRAMS_BIN=$TOP/tests/bin; fi
readonly PROGRAMS_BIN
test_programs() { # a failed result if they do not build
	local bench="make -s -C bench >/dev/null"
	cross && bench=true
	"$CHROOT" run "$GUEST_SYSTEM" --bind "$TOP" sh -c \
		"make -s -C tests BIN='$PROGRAMS_BIN' >/dev/null && $bench" ||
		{ result fail "the $ARCH_DEB test programs build in $GUEST_SYSTEM"; return 1; }
}

# The kernel's own C module, built in K_SUITE's chroot from its linux-source
# by bench/cmodule.sh, cached: its path.
c_module() {
	mkdir -p "$CACHE/cmodule"
	"$CHROOT" run "$K_SUITE" --bind "$TOP" --bind "$CACHE/cmodule" "$TOP/bench/cmodule.sh" "$K_ABI"
}

# KTAP of one guest log: for every plan "1..N", the ok / not ok / SKIP
# lines up to its "# Totals:" line. Prints "pass fail skip runs" (runs:
# plans that reached Totals); a plan that does not match what ran, or a run
# without Totals, is one more failure.
ktap_count() {
	awk '
		/^1\.\.[0-9]+$/ { if (inplan) bad++; inplan = 1; plan = substr($0, 4); ran = 0; next }
		inplan && /^(not )?ok [0-9]+ / { ran++; if (/^not/) fail++; else if (/# SKIP/) skip++; else pass++ }
		inplan && /^# Totals: / {
			if (ran != plan) { bad++; printf "plan 1..%d, %d ran\n", plan, ran > "/dev/stderr" }
			inplan = 0; runs++
		}
		END {
			if (inplan) { bad++; print "a plan without # Totals (guest died?)" > "/dev/stderr" }
			if (!runs) { bad++; print "no KTAP run in the log" > "/dev/stderr" }
			print pass + 0, fail + bad, skip + 0, runs + 0
		}' "$1"
}

# vm_boot DIR CMD... [-- VM.SH ARGS...]: K_VMLINUZ booted with DIR/root, the
# suites and the test programs in /tests, and /run-in-vm running each guest
# command line CMD (failing if one did). The console goes to DIR/vm.log;
# returns vm.sh's status.
vm_boot() {
	local dir=$1 cmds=()
	shift
	while (($#)) && [ "$1" != -- ]; do cmds+=("$1"); shift; done
	(($#)) && shift
	mkdir -p "$dir/root/tests/bin"
	cp -r "$TOP"/tests/*.sh "$TOP/tests/lib" "$dir/root/tests/"
	cp -r "$PROGRAMS_BIN/." "$dir/root/tests/bin/"
	# shellcheck disable=SC2016 # the guest's shell expands it
	printf '%s\n' '#!/bin/sh' rc=0 "${cmds[@]/%/ || rc=1}" 'exit $rc' >"$dir/root/run-in-vm"
	chmod +x "$dir/root/run-in-vm"
	"$TOP/scripts/vm/mkinitramfs.sh" --out "$dir/initrd.cpio.gz" --root "$dir/root" \
		--kver "$K_ABI" --sysroot "$("$CHROOT" path "$GUEST_SYSTEM")" >"$dir/mkinitramfs.log" 2>&1 ||
		{ cat "$dir/mkinitramfs.log"; return 125; }
	"$TOP/scripts/vm/vm.sh" --arch "$ARCH_DEB" --kernel "$K_VMLINUZ" --initrd "$dir/initrd.cpio.gz" \
		--timeout "${VM_TIMEOUT:-900}" --log "$dir/vm.log" "$@"
}

# vm_suite NAME DIR CMD... [-- VM.SH ARGS...]: vm_boot and the KTAP results
# of its log; VM_RUNS=N: N complete runs required.
vm_suite() {
	local name=$1 dir=$2 rc=0 p f s runs
	shift 2
	vm_boot "$dir" "$@" || rc=$?
	read -r p f s runs < <(ktap_count "$dir/vm.log")
	echo "$R_NAME: $name: $p passed, $f failed, $s skipped in $runs run(s) in the VM (vm.sh rc $rc)"
	R_PASS=$((R_PASS + p)) R_FAIL=$((R_FAIL + f)) R_SKIP=$((R_SKIP + s))
	if [ -n "${VM_RUNS:-}" ] && [ "$runs" -ne "$VM_RUNS" ]; then
		result fail "$name: all $VM_RUNS in-VM suites ran to completion ($runs did; vm.sh rc $rc)"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		result fail "$name: VM exit status $rc"
	fi
}

# For check-install and check-deb: what `make install` and `make dkms-add`
# need of a checkout (the module's sources, mk/install.mk and the source
# list) into DEST; the kernel's module metadata into DIR, as an installed
# system has it (depmod reads it).
checkout_copy() { # checkout_copy DEST
	scripts/pkg/dkms-source.sh "$1"
	tar -C "$TOP" -c mk/install.mk scripts/pkg/dkms-source.sh | tar -x -C "$1"
}
kernel_metadata() { # kernel_metadata DIR
	mkdir -p "$1" && cp "$K_MODDIR"/modules.{order,builtin,builtin.modinfo} "$1/"
}
absent() { # absent PATH...: none of them exists
	local p
	for p; do [ ! -e "$p" ] || return 1; done
}
unlisted() { ! grep -q bpf_preload "$@"; } # unlisted FILE...: none names the module
