#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-robust.sh robust|kbuild-errors|debug   make check-<that> (README.md),
# in build/robust/ and build/debug/. ROBUST_APPEND="KEY=value ..." goes on the
# kernel command line, for tests/robust.sh (e.g. ROBUST_ONLY=churn).
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
mode=${1:-}
results_begin robust

# The module, its FAULT_INJECT=1 build and tests/other_ops in W/src, W/fault
# and W/other_ops, each by [PREFIX...] make against KDIR.
build_modules() { # build_modules W WHAT KDIR [PREFIX...]
	local w=$1 what=$2 kdir=$3
	shift 3
	copy_sources "$w/src"
	copy_sources "$w/fault"
	rm -rf "$w/other_ops" && mkdir -p "$w/other_ops"
	cp tests/other_ops/other_ops.c tests/other_ops/Kbuild bpf_preload.h "$w/other_ops/"
	clean "$what: bpf_preload.ko builds with zero warnings" "$w/src.log" \
		"$@" make -C "$w/src" KDIR="$kdir" || true
	clean "$what: bpf_preload.ko FAULT_INJECT=1 builds with zero warnings" "$w/fault.log" \
		"$@" make -C "$w/fault" KDIR="$kdir" FAULT_INJECT=1 || true
	clean "$what: tests/other_ops builds with zero warnings" "$w/other_ops.log" \
		"$@" make -C "$kdir" M="$TOP/$w/other_ops" modules || true
}

# One boot with W's builds and FOREIGN (a build for another kernel), if
# not empty, where tests/robust.sh wants them.
boot_robust() { # boot_robust NAME W FOREIGN VM_SUITE_ARGS...
	local name=$1 w=$2 foreign=$3 root=$2/vm/root
	shift 3
	rm -rf "$w/vm" && mkdir -p "$root/robust"
	if ! cp "$w/src/bpf_preload.ko" "$root/" ||
		! cp "$w/fault/bpf_preload.ko" "$root/robust/bpf_preload_fault.ko" ||
		! cp "$w/other_ops/other_ops.ko" "$root/robust/" ||
		! { [ -z "$foreign" ] || cp "$foreign" "$root/robust/foreign.ko"; }; then
		result fail "$name: in-VM robustness suite (modules missing)"
		return 0
	fi
	vm_suite "$name" "$w/vm" "$@"
	grep -E '^(not )?ok ' "$w/vm/vm.log" | sed "s/^/robust: $name: /"
}

# Pass 1, per kernel: the module, its FAULT_INJECT=1 build, other_ops.
build_kernel() { # build_kernel SUITE ABI (after kernel_use)
	built+=("$2")
	mkdir -p "build/robust/$2"
	build_modules "build/robust/$2" "$2" "$K_KDIR" in_build_env
}

# Pass 2, per kernel: one boot with those and the build of the next kernel
# (cyclically) of another series (x.y: struct module, module_layout or
# vermagic differ; kernels of one series differ only in symbol versions).
series() { cut -d. -f1,2 <<<"$1"; }
boot_kernel() { # boot_kernel SUITE ABI (after kernel_use)
	local i=0 b other=""
	while ((i < ${#built[@]})) && [ "${built[i]}" != "$2" ]; do i=$((i + 1)); done
	for b in "${built[@]:i+1}" "${built[@]:0:i}"; do
		[ "$(series "$b")" != "$(series "$2")" ] || continue
		other=build/robust/$b/src/bpf_preload.ko
		break
	done
	[ -f "$other" ] || other=""
	boot_robust "$1 $2" "build/robust/$2" "$other" "/tests/robust.sh check" -- \
		--timeout 1500 --append "${ROBUST_APPEND:-}"
}

# make_stops CASE WANT [MAKE ARGS...], once kbuild_kernel doctored its copy
# $k of the headers: make -C $src ARGS (default KDIR=$k) must fail, print the
# line WANT (an ERE if it starts with ~), build no object and, unless
# KBUILD_RUNS=yes, stop before kbuild runs. Then restores.
make_stops() {
	local name=$1 want=$2 log=$w/$1.log grep=-Fxq why=()
	shift 2
	(($#)) || set -- KDIR="$k"
	[[ $want != '~'* ]] || grep=-Eq want=${want#\~}
	in_build_env make -C "$src" "$@" >"$log" 2>&1 && why+=("make succeeded")
	grep "$grep" -- "$want" "$log" || why+=("no line: $want")
	if compgen -G "$src/*.ko" >/dev/null || compgen -G "$src/*.o" >/dev/null; then
		why+=("objects were built")
	fi
	if [ "${KBUILD_RUNS:-no}" = no ] &&
		grep 'Entering directory' "$log" | grep -vq "'$TOP/$src'"; then
		why+=("kbuild ran")
	fi
	if ((${#why[@]})); then
		printf 'robust: %s\n' "${why[@]}"
		sed 's/^/robust:   | /' "$log"
		result fail "$abi: make stops: $name"
	else
		result ok "$abi: make stops: $name"
	fi
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
	if logged "$abi: the copied headers tree builds the module" "$w/control.log" \
		in_build_env make -C "$src" KDIR="$k"; then
		check "$abi: the copied headers tree builds the module" test -f "$src/bpf_preload.ko"
	fi
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

cmd_debug() {
	local w=build/debug suite abi
	mkdir -p "$w"
	test_programs || return 0
	# A module built for another kernel: Debian's stable one.
	# shellcheck disable=SC2086 # a list of suites
	read -r suite abi < <(SUITES=$(scripts/kernel/kernels.sh stable $SUITES) kernel_matrix | tail -n 1)
	if kernel_use "$suite" "$abi"; then
		copy_sources "$w/foreign"
		clean "$abi: bpf_preload.ko builds with zero warnings" "$w/foreign.log" \
			in_build_env make -C "$w/foreign" KDIR="$K_KDIR" || true
	else
		result fail "$suite $abi: fetch headers and image"
	fi
	echo "robust: building the debug kernel (kernel-build.sh; cached)"
	if kernel_build "debug kernel" "$w" --config scripts/kconfig/vm.config \
		--config scripts/kconfig/debug.config; then
		build_modules "$w" "debug kernel" "$K_KDIR"
		VM_RUNS=4 boot_robust debug "$w" "$w/foreign/bpf_preload.ko" "/tests/debug.sh pre" \
			"/tests/run.sh check" "/tests/robust.sh check" "/tests/debug.sh post" -- \
			--mem 2G --timeout 5400 --append "${ROBUST_APPEND:-}"
	fi
}

case $mode in
robust)
	built=()
	test_programs || results_end
	for_each_kernel build_kernel
	for_each_kernel boot_kernel
	;;
kbuild-errors) for_each_kernel kbuild_kernel ;;
debug) cmd_debug ;;
*) echo "usage: $0 robust|kbuild-errors|debug" >&2; exit 2 ;;
esac
results_end
