#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-robust.sh robust|kbuild-errors|debug   make check-<that> (README.md),
# in build/robust/ (the debug kernel in build/debug/). ROBUST_APPEND="KEY=value
# ..." goes on the kernel command line, for tests/robust.sh (ROBUST_CHURN=20).
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
results_begin robust
built=()

# build_kernel SUITE ABI, after kernel_use (or kernel_build: no SUITE, built
# on the host): the module, its FAULT_INJECT=1 build and tests/other_ops in
# build/robust/ABI/{src,fault,other_ops}.
build_kernel() {
	local w=build/robust/$2 env=()
	[ -z "$1" ] || env=(in_build_env)
	built+=("$2")
	copy_sources "$w/src"
	copy_sources "$w/fault"
	rm -rf "$w/other_ops" && mkdir -p "$w/other_ops"
	cp tests/other_ops/other_ops.c tests/other_ops/Kbuild bpf_preload.h "$w/other_ops/"
	clean "$2: bpf_preload.ko builds with zero warnings" "$w/src.log" \
		"${env[@]}" make -C "$w/src" KDIR="$K_KDIR" || true
	clean "$2: bpf_preload.ko FAULT_INJECT=1 builds with zero warnings" "$w/fault.log" \
		"${env[@]}" make -C "$w/fault" KDIR="$K_KDIR" FAULT_INJECT=1 || true
	clean "$2: tests/other_ops builds with zero warnings" "$w/other_ops.log" \
		"${env[@]}" make -C "$K_KDIR" M="$TOP/$w/other_ops" modules || true
}

# boot_kernel SUITE ABI [GUEST CMD... -- VM.SH ARGS...]: one boot (default:
# robust.sh) with ABI's builds and FOREIGN, a build for another kernel, where
# tests/robust.sh wants them. FOREIGN defaults to the build of the next
# kernel (cyclically) of another series (x.y: struct module, module_layout
# or vermagic differ; kernels of one series differ only in symbol versions).
series() { cut -d. -f1,2 <<<"$1"; }
boot_kernel() {
	local name="${1:-debug kernel} $2" w=build/robust/$2 i=0 b foreign=${FOREIGN:-}
	local root=$w/vm/root
	while ((i < ${#built[@]})) && [ "${built[i]}" != "$2" ]; do i=$((i + 1)); done
	for b in "${built[@]:i+1}" "${built[@]:0:i}"; do
		[ -z "$foreign" ] || break
		[ "$(series "$b")" = "$(series "$2")" ] || foreign=build/robust/$b/src/bpf_preload.ko
	done
	rm -rf "$w/vm" && mkdir -p "$root/robust"
	{ cp "$w/src/bpf_preload.ko" "$root/" && cp "$w/other_ops/other_ops.ko" "$root/robust/" &&
		cp "$w/fault/bpf_preload.ko" "$root/robust/bpf_preload_fault.ko"; } ||
		{ result fail "$name: in-VM robustness suite (modules missing)"; return 0; }
	# Without it (its build failed: a failure already), wrong_kernel skips.
	[ ! -f "$foreign" ] || cp "$foreign" "$root/robust/foreign.ko"
	(($# > 2)) || set -- "$1" "$2" "/tests/robust.sh check" -- --timeout 1500
	vm_suite "$name" "$w/vm" "${@:3}" --append "${ROBUST_APPEND:-}"
	grep -E '^(not )?ok ' "$w/vm/vm.log" | sed "s/^/robust: $name: /" || true
}

# make_stops CASE WANT [MAKE ARGS...], once kbuild_kernel doctored its copy
# $k of the headers: make -C $src ARGS (default KDIR=$k) must fail, print the
# line WANT (an ERE if it starts with ~), build no object and, unless
# KBUILD_RUNS=yes, stop before kbuild runs. Then restores.
make_stops() {
	local name=$1 want=$2 log=$w/$1.log grep=-Fxq why=""
	shift 2
	(($#)) || set -- KDIR="$k"
	[[ $want != '~'* ]] || grep=-Eq want=${want#\~}
	! in_build_env make -C "$src" "$@" >"$log" 2>&1 || why+="; make succeeded"
	grep "$grep" -- "$want" "$log" || why+="; no line: $want"
	! compgen -G "$src/*.o" >/dev/null || why+="; objects were built" # a .ko has its .o
	[ "${KBUILD_RUNS:-no}" != no ] || ! grep 'Entering directory' "$log" |
		grep -vq "'$TOP/$src'" || why+="; kbuild ran"
	[ -z "$why" ] || { echo "robust: ${why#; }"; sed 's/^/robust:   | /' "$log"; }
	check "$abi: make stops: $name" test -z "$why"
	restore
}

kbuild_kernel() { # kbuild_kernel SUITE ABI (after kernel_use)
	local abi=$2 orig=$K_KDIR k src cxx
	w=build/robust/kbuild/$abi k=$TOP/build/robust/kbuild/$abi/kdir src=build/robust/kbuild/$abi/src
	rm -rf "$w" && mkdir -p "$w/orig"
	# A copy of the headers tree, its relative symlinks (scripts, tools)
	# pointing back at the originals.
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_build_env sh -ec 'cp -a "$1" "$2"
		for l in "$2"/*; do
			if [ -L "$l" ]; then ln -sfn "$(readlink -f "$1/${l##*/}")" "$l"; fi
		done' sh "$orig" "$k"
	# From 7.0 the tree's Makefile names its objtree: the copy's, so that
	# the doctoring below counts.
	sed -i "s|^KBUILD_OUTPUT=$orig\$|KBUILD_OUTPUT=$k|" "$k/Makefile"
	(cd "$k" && cp -a --parents .config Module.symvers include/config/auto.conf "$TOP/$w/orig/")
	restore() { cp -a "$w/orig/." "$k/" && copy_sources "$src"; }

	# Control: the undoctored copy builds.
	copy_sources "$src"
	logged "$abi: the copied headers tree builds the module" "$w/control.log" \
		in_build_env make -C "$src" KDIR="$k" &&
		check "$abi: the copied headers tree builds the module" test -f "$src/bpf_preload.ko"
	restore
	sed -i 's/^CONFIG_DEBUG_INFO_BTF=y$/# CONFIG_DEBUG_INFO_BTF is not set/' "$k/.config"
	make_stops "CONFIG_DEBUG_INFO_BTF off" \
		"bpf_preload: $k: CONFIG_DEBUG_INFO_BTF is off; the iterators are CO-RE programs and need the kernel's BTF"
	awk '$2 != "bpf_preload_ops"' "$w/orig/Module.symvers" >"$k/Module.symvers"
	make_stops "bpf_preload_ops not exported" \
		"bpf_preload: $k: the kernel does not export bpf_preload_ops (needs CONFIG_BPF_SYSCALL and kernel 5.17 or later)"
	sed -i 's/^CONFIG_BPF_SYSCALL=y$/# CONFIG_BPF_SYSCALL is not set/' "$k/.config"
	make_stops "CONFIG_BPF_SYSCALL off" \
		"bpf_preload: $k: CONFIG_BPF_SYSCALL is off; this kernel has no BPF syscall to load iterators with"
	rm "$k/Module.symvers"
	make_stops "no Module.symvers" \
		"bpf_preload: $k has no Module.symvers; cannot tell whether bpf_preload_ops is exported"
	make_stops "no kbuild tree" \
		"bpf_preload: no kbuild tree at $TOP/$w/none: install the kernel's headers (Debian: linux-headers-\$(uname -r)) or pass KDIR=<kbuild tree>" \
		KDIR="$TOP/$w/none"
	# A kernel built by another gcc than the g++ we have: the message
	# names the package of the kernel's own compiler (gcc-N: g++-N).
	cxx=$(sed -n 's/^CONFIG_CC_VERSION_TEXT=".*gcc-\([0-9]*\) .*/g++-\1/p' "$k/.config")
	sed -i 's/^CONFIG_GCC_VERSION=.*/CONFIG_GCC_VERSION=990000/' "$k/include/config/auto.conf"
	KBUILD_RUNS=yes make_stops "C++ compiler is not the kernel's" \
		"~Kbuild:[0-9]+: \*\*\* bpf_preload: C\+\+ compiler '[^']*g\+\+[^']*' is missing or is not the kernel's compiler \(.*\); install Debian's ${cxx//+/\\+}\.  Stop\.\$"
}

case ${1:-} in
robust)
	test_programs || results_end
	for_each_kernel build_kernel
	for_each_kernel boot_kernel
	;;
kbuild-errors) for_each_kernel kbuild_kernel ;;
debug)
	test_programs || results_end
	# A module built for another kernel: Debian's stable one.
	# shellcheck disable=SC2086 # a list of suites
	read -r suite abi < <(SUITES=$(scripts/kernel/kernels.sh stable $SUITES) kernel_matrix | tail -n 1)
	with_kernel "$suite" "$abi" build_kernel
	echo "robust: building the debug kernel (kernel-build.sh; cached)"
	if kernel_build "debug kernel" build/debug --config scripts/kconfig/vm.config \
		--config scripts/kconfig/debug.config; then
		build_kernel "" "$K_ABI"
		FOREIGN=build/robust/$abi/src/bpf_preload.ko VM_RUNS=4 boot_kernel "" "$K_ABI" \
			"/tests/debug.sh pre" "/tests/run.sh check" "/tests/robust.sh check" \
			"/tests/debug.sh post" -- --mem 2G --timeout 5400
	fi
	;;
*) echo "usage: $0 robust|kbuild-errors|debug" >&2; exit 2 ;;
esac
results_end
