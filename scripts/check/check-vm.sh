#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-vm.sh check   per kernel of $SUITES and $BPF_PRELOAD_ARCH (default
#                     amd64): the module as users build it (DKMS, or a cross
#                     build), the tables it embeds, the other byte order's
#                     refused, then a QEMU boot running the suites
# check-vm.sh run     boot the stable release's newest kernel with the module
#                     and show what a user sees (work areas: build/<abi>/)
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
mode=${1:-check}
order=little other_order=big
if [ "$ARCH_DEB" = s390x ]; then order=big other_order=little; fi

config_y() { grep -q "^$1=y" "$K_KDIR_HOST/.config"; }

# As a user's machine builds it, OUT/bpf_preload.ko: dkms add + build in
# private DKMS trees; cross (not in K_BUILD_SYSTEM), make ARCH= CROSS_COMPILE=.
module_build() { # module_build OUT: two results, the build's and its zero warnings
	local out=$1 desc="$K_SUITE $K_ABI: dkms build${K_BUILD_SYSTEM:+ in $K_BUILD_SYSTEM}"
	local cmd=(in_build_env scripts/pkg/dkms-build.sh "$K_ABI" "$K_KDIR" "$out")
	rm -rf "$out" && mkdir -p "$out"
	if cross && [ -z "${K_BUILD_SYSTEM:-}" ]; then
		desc="$K_SUITE $K_ABI: cross-build (make ARCH=$KARCH CROSS_COMPILE=$TRIPLET-)"
		cmd=(module_make "$TOP/$out/src")
		copy_sources "$out/src"
	fi
	must "$desc" "$out/build.log" "${cmd[@]}" || return
	check "$desc: zero warnings" no_warnings "$out/build.log"
	[ -f "$out/bpf_preload.ko" ] || cp "$out/src/bpf_preload.ko" "$out/"
}

refused() { # refused DESC LOG PATTERN CMD...: CMD fails, LOG has a line matching PATTERN
	if "${@:4}" >"$2" 2>&1; then result fail "$1 (log $2)"; else check "$1" grep -q "$3" "$2"; fi
}

# DESC: KO embeds exactly the tables a correct build for $order does. This
# restates the rule of iterators/iterators_variant.h on purpose: an expectation
# read from that header would agree with a wrong one (the wrong-variant mutant).
check_tables() { # check_tables DESC KO
	local ver tables=iterators_nocount.tables-$order-endian.h
	ver=$(sed -n 's/^#define LINUX_VERSION_CODE \([0-9]*\)$/\1/p' \
		"$K_KDIR_HOST/include/generated/uapi/linux/version.h")
	if [ "${ver:-0}" -ge $(((6 << 16) + (6 << 8))) ] && config_y CONFIG_BPF_JIT_DEFAULT_ON; then
		tables=iterators.tables-$order-endian.h
	fi
	check "$1 embeds exactly $tables" embeds "$2" "$tables"
}

# KO holds both arrays of exactly HEADER of the tables headers of iterators/,
# byte for byte: iterators_btf tells the byte orders apart, iterators_rodata
# the variants, so this tells which a build picked without trusting cpp.
embeds() { # embeds KO HEADER
	local ko_hex h array b got=""
	[ -f "$1" ] || { echo "$1: no such file"; return 1; }
	ko_hex=$(od -An -v -tx1 "$1" | tr -d '\n')
	for h in iterators/*.tables-*-endian.h; do
		for array in iterators_btf iterators_rodata; do
			# The array (gen_tables.py's "0xNN," tokens, up to "};") as od prints
			# bytes, " xx" tokens; anything else means the header format changed.
			b=$(awk -v want="unsigned char ${array}[]" \
				'index($0, want) { on = 1; next } on && /^};/ { exit } on' "$h" |
				tr -d ' \t\n' | sed 's/0x\([0-9a-f][0-9a-f]\),/ \1/g')
			[[ -n $b && -z ${b//[ 0-9a-f]/} ]] || { echo "$h: cannot read its $array"; return 1; }
			[[ $ko_hex == *"$b"* ]] || continue 2
		done
		got+="${h##*/} "
	done
	[ "$got" = "$2 " ] || { echo "$1 embeds: ${got:-none}"; return 1; }
}

check_kernel() { # check_kernel SUITE ABI (after kernel_use)
	local suite=$1 abi=$2 w=build/$2 root=build/$2/vm/root ko desc h c_ko
	rm -rf "$w/vm" && mkdir -p "$root/c_module"
	# Without BTF, `make` must refuse; kbuild itself still builds.
	if ! config_y CONFIG_DEBUG_INFO_BTF; then
		copy_sources "$w/src"
		refused "$suite $abi: make refuses a kernel without BTF: CONFIG_DEBUG_INFO_BTF is off" \
			"$w/make.log" 'CONFIG_DEBUG_INFO_BTF is off' module_make "$TOP/$w/src"
		logged "$suite $abi: kbuild builds the module anyway" "$w/build.log" \
			module_make "$K_KDIR" M="$TOP/$w/src" modules || return 0
		check "$suite $abi: kbuild builds the module with zero warnings" no_warnings "$w/build.log"
		cp "$w/src/bpf_preload.ko" "$root/" && vm_suite "$suite $abi" "$w/vm" "/tests/run.sh no-btf"
		return 0
	fi
	module_build "$w/src" || return 0
	ko=$w/src/bpf_preload.ko desc="$suite $abi: the C++ core has debug info"
	# Cross, a C++ compile unit only (addr2line prints ??:? for bookworm's arm64 6.1 .ko).
	if cross; then
		check "$desc: a C++ compile unit of bpf_preload_kern.cpp" sh -c "readelf \
			--debug-dump=info $ko | grep -E 'DW_AT_(name|language)' |
			grep -B1 'bpf_preload_kern\.cpp$' | grep -q 'C++'"
	else
		check "$desc: addr2line finds bpf_preload_fill in bpf_preload_kern.cpp" \
			in_build_env sh -c "addr2line -e $ko -j .text 0x\$(nm $ko |
			awk '\$3 == \"bpf_preload_fill\" {print \$1}') | grep 'bpf_preload_kern\.cpp:[0-9]'"
	fi
	check_tables "$suite $abi: the module" "$ko"
	cp "$ko" "$root/"
	# A build with the other byte order's tables: bpf_preload_loader.c's
	# static_assert must refuse it.
	copy_sources "$w/control"
	for h in "$w"/control/iterators/*.tables-"$order"-endian.h; do
		cp "${h%-"$order"-endian.h}-$other_order-endian.h" "$h"
	done
	refused "$suite $abi: the build refuses the $other_order-endian tables (static_assert)" \
		"$w/control.log" 'static assertion failed: "ITERATORS_BIG_ENDIAN ==' \
		module_make "$TOP/$w/control"
	if cross; then
		echo "the kernel's own C module is built for $NATIVE kernels only" >"$root/c_module/none"
	elif ! c_ko=$(c_module 2>"$w/c_module.log") || ! cp "$c_ko" "$root/c_module/"; then
		cat "$w/c_module.log"
		result fail "$suite $abi: the kernel's own C module builds"
	fi
	vm_suite "$suite $abi" "$w/vm" "/tests/run.sh check $order"
}

# DKMS on the foreign architecture itself, once, for target_kernel, in its
# chroot (qemu-user runs the compiler).
native_dkms() { # native_dkms SUITE ABI (after kernel_use)
	local out=build/$2/native-dkms log=build/$2/native-headers.log K_BUILD_SYSTEM=$1:$ARCH_DEB
	if logged "$1 $2: linux-headers-$2 installs in the $ARCH_DEB chroot" "$log" \
		"$CHROOT" apt "$K_BUILD_SYSTEM" install "linux-headers-$2" && module_build "$out"; then
		check_tables "$1 $2: DKMS's $ARCH_DEB build" "$out/bpf_preload.ko"
	fi
}

# The kernel a user most likely runs, for `run` and native_dkms: among the
# kernels of SUITES with BTF, the stable release's newest, else the last.
target_kernel() {
	local stable suite abi config pick=""
	# shellcheck disable=SC2086 # a list of suites
	stable=$(scripts/kernel/kernels.sh stable $SUITES 2>/dev/null) || stable=""
	while read -r suite abi; do
		config=$("$CHROOT" path "$suite")/usr/src/linux-headers-$abi/.config
		[ -f "$config" ] || kernel_use "$suite" "$abi" >&2 || continue
		grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$config" || continue
		[[ $pick == "$stable "* && $suite != "$stable" ]] || pick="$suite $abi"
	done < <(kernel_matrix)
	[ -n "$pick" ] && echo "$pick"
}

if [ "$mode" = run ]; then
	read -r suite abi < <(target_kernel) || { echo "no kernel with BTF in SUITES='$SUITES'" >&2; exit 1; }
	kernel_use "$suite" "$abi"
	results_begin run
	module_build "build/$abi/src" || exit 1
	test_programs
	rm -rf "build/$abi/run" && mkdir -p "build/$abi/run/root"
	cp "build/$abi/src/bpf_preload.ko" "build/$abi/run/root/"
	vm_boot "build/$abi/run" "/tests/run.sh show"
	exit
fi
[ "$mode" = check ] || { echo "usage: $0 check|run" >&2; exit 2; }

results_begin "vm-$ARCH_DEB"
mkdir -p build
test_programs || results_end
# Under qemu-user on a foreign architecture: the parser's byte order too.
must "the $ARCH_DEB test programs are static and pass debug_check --self-test" \
	"build/self-test-$ARCH_DEB.log" "$CHROOT" run "$GUEST_SYSTEM" --bind "$TOP" \
	make -C tests check BIN="$PROGRAMS_BIN"
for_each_kernel check_kernel
if ! cross; then :
elif read -r suite abi < <(target_kernel) && kernel_use "$suite" "$abi"; then
	per_kernel "$suite" "$abi" native_dkms "$suite" "$abi"
else
	result fail "DKMS on $ARCH_DEB: a kernel with BTF among SUITES='$SUITES'"
fi
results_end
