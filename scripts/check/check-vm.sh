#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-vm.sh check   for every kernel of $SUITES (scripts/kernel/kernels.sh)
#                     of the architecture $BPF_PRELOAD_ARCH (default amd64):
#                     the module as users build it, with zero warnings (on
#                     the build machine's architecture by DKMS in the
#                     suite's chroot, elsewhere cross-built by kbuild there);
#                     the skeleton it embeds (byte order and variant) and a
#                     control build with the other byte order's; then in a
#                     QEMU boot of that kernel tests/run.sh (with the
#                     kernel's own C module, bench/cmodule.sh, beside ours
#                     to compare with, natively) and tests/byte_order.sh.
#                     A kernel without BTF: make must refuse it, kbuild
#                     still builds, and the module fails to load cleanly.
#                     Records "P F S" in $BPF_PRELOAD_RESULT.
# check-vm.sh run     boot the newest kernel of the current stable release
#                     with the module and show what a user sees
#
# Work areas are build/<abi>/.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
cd "$TOP"
mode=${1:-check}

config_y() { grep -q "^$1=y" "$K_KDIR_HOST/.config"; }

# The module for K_ABI into OUTDIR/bpf_preload.ko (log OUTDIR/build.log),
# with a result for the build and one for zero warnings.
module_build() { # module_build OUTDIR
	local out=$1 what="$K_SUITE $K_ABI: cross-build (make ARCH=$ARCH_KBUILD CROSS_COMPILE=$ARCH_TRIPLET-)"
	cross || { dkms_build "$out"; return; }
	rm -rf "$out" && scripts/pkg/dkms-source.sh "$out/src"
	if ! module_make "$TOP/$out/src" >"$out/build.log" 2>&1; then
		tail -n 30 "$out/build.log"
		result fail "$what (log $out/build.log)"
		return 1
	fi
	result ok "$what"
	cp "$out/src/bpf_preload.ko" "$out/"
	check "$what: zero warnings" no_warnings "$out/build.log"
}

# A kernel without BTF cannot host the iterators: `make` says so and stops;
# kbuild itself still builds the sources with zero warnings.
no_btf_build() { # no_btf_build OUTDIR
	local out=$1 src=$1/src
	rm -rf "$out" && scripts/pkg/dkms-source.sh "$src"
	if module_make "$TOP/$src" >"$out/make.log" 2>&1; then
		result fail "$K_SUITE $K_ABI: make refuses a kernel without BTF"
	else
		check "$K_SUITE $K_ABI: make refuses it: CONFIG_DEBUG_INFO_BTF is off" \
			grep -q 'CONFIG_DEBUG_INFO_BTF is off' "$out/make.log"
	fi
	mkdir -p "$src/.skel_include/bpf"
	ln -sf /usr/include/bpf/skel_internal.h "$src/.skel_include/bpf/"
	if ! module_make "$K_KDIR" M="$TOP/$src" modules >"$out/build.log" 2>&1; then
		tail -n 30 "$out/build.log"
		result fail "$K_SUITE $K_ABI: kbuild builds the module anyway"
		return 1
	fi
	cp "$src/bpf_preload.ko" "$out/"
	check "$K_SUITE $K_ABI: kbuild builds the module with zero warnings" no_warnings "$out/build.log"
}

# The kernel's byte order, and the skeleton a correct build embeds:
# counting on 6.6+ kernels with the JIT on from boot
# (iterators/iterators.lskel.h).
byte_order() { if [ "$ARCH_DEB" = s390x ]; then echo big; else echo little; fi; }
other_order() { if [ "$(byte_order)" = big ]; then echo little; else echo big; fi; }
expected_skel() { # expected_skel ORDER
	local ver
	ver=$(sed -n 's/^#define LINUX_VERSION_CODE \([0-9]*\)$/\1/p' \
		"$K_KDIR_HOST/include/generated/uapi/linux/version.h")
	if [ "${ver:-0}" -ge $(((6 << 16) + (6 << 8))) ] && config_y CONFIG_BPF_JIT_DEFAULT_ON; then
		echo "iterators.lskel-$1-endian.h"
	else
		echo "iterators_nocount.lskel-$1-endian.h"
	fi
}

embeds() { # embeds KO SKELETON: the module embeds exactly that skeleton
	local got
	got=$(scripts/pkg/skel-embedded.sh "$1" | tr '\n' ' ' || true)
	[ "$got" = "$2 " ] || { echo "$1 embeds: ${got:-none}"; return 1; }
}

# The same sources with the other byte order's skeletons in this one's
# place, built by kbuild: what a build would give that picked the wrong
# byte order. It must embed that one, and fail to load (byte_order.sh).
control_build() { # control_build DIR
	local dir=$1 this other h
	this=$(byte_order) other=$(other_order)
	rm -rf "$dir" && scripts/pkg/dkms-source.sh "$dir"
	for h in "$dir"/iterators/*.lskel-"$this"-endian.h; do
		cp "${h%-"$this"-endian.h}-$other-endian.h" "$h"
	done
	if ! module_make "$TOP/$dir" >"$dir.log" 2>&1; then
		tail -n 30 "$dir.log"
		result fail "$K_SUITE $K_ABI: the control module ($other-endian skeletons) builds"
		return 1
	fi
	check "$K_SUITE $K_ABI: the control build embeds $(expected_skel "$other"), which the check tells apart" \
		embeds "$dir/bpf_preload.ko" "$(expected_skel "$other")"
}

# Builds and boots one kernel.
check_kernel() { # check_kernel SUITE ABI (after kernel_use)
	local suite=$1 abi=$2 w=build/$2 root=build/$2/vm/root c_ko
	rm -rf "$w/vm" && mkdir -p "$root/c_module" "$root/control"
	if ! config_y CONFIG_DEBUG_INFO_BTF; then
		no_btf_build "$w/src" || return 0
		cp "$w/src/bpf_preload.ko" "$root/"
		vm_suite "$suite $abi" "$w/vm" /tests/byte_order.sh no-btf
		return 0
	fi
	module_build "$w/src" || return 0
	check "$suite $abi: the module embeds exactly $(expected_skel "$(byte_order)")" \
		embeds "$w/src/bpf_preload.ko" "$(expected_skel "$(byte_order)")"
	cp "$w/src/bpf_preload.ko" "$root/"
	control_build "$w/control" && cp "$w/control/bpf_preload.ko" "$root/control/"
	# The kernel's own module, to compare with (tests/run.sh), natively.
	if cross; then
		echo "the kernel's own C module is built for $(dpkg --print-architecture) kernels only" \
			>"$root/c_module/none"
	elif c_ko=$(c_module 2>"$w/c_module.log"); then
		cp "$c_ko" "$root/c_module/"
	else
		cat "$w/c_module.log"
		result fail "$suite $abi: the kernel's own C module builds"
	fi
	vm_suite "$suite $abi" "$w/vm" sh -c "'rc=0; /tests/run.sh check || rc=1;
		/tests/byte_order.sh check $(byte_order) /control/bpf_preload.ko || rc=1; exit \$rc'"
}

# DKMS on the architecture itself, as its users there build the module:
# once per foreign architecture, for target_kernel, in the release's chroot
# of that architecture (qemu-user runs its compiler), with zero warnings and
# the right skeleton.
native_dkms() { # native_dkms SUITE ABI (after kernel_use)
	local out=build/$2/native-dkms log=build/$2/native-headers.log
	K_BUILD_SYSTEM=$1:$ARCH_DEB
	if "$CHROOT" apt "$K_BUILD_SYSTEM" install "linux-headers-$2" >"$log" 2>&1; then
		dkms_build "$out" && check "$1 $2: DKMS's $ARCH_DEB build embeds exactly $(expected_skel "$(byte_order)")" \
			embeds "$out/bpf_preload.ko" "$(expected_skel "$(byte_order)")"
	else
		tail -n 20 "$log"
		result fail "$1 $2: linux-headers-$2 installs in the $ARCH_DEB chroot (log $log)"
	fi
	unset K_BUILD_SYSTEM
}

# The kernel a user most likely runs, for `run` and native_dkms: among
# the kernels of SUITES with BTF, the stable release's newest, else the
# last: "SUITE ABI".
target_kernel() {
	local stable suite abi config pick=""
	# shellcheck disable=SC2086 # a list of suites
	stable=$(scripts/kernel/kernels.sh stable $SUITES 2>/dev/null) || stable=""
	while read -r suite abi; do
		# Fetched already after a check's loop; `run` fetches here.
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
	vm_boot "build/$abi/run" /tests/run.sh show
	exit
fi
[ "$mode" = check ] || { echo "usage: $0 check|run" >&2; exit 2; }

results_begin "vm-$ARCH_DEB"
if test_programs; then
	for_each_kernel check_kernel
	if ! cross; then :
	elif read -r suite abi < <(target_kernel) && kernel_use "$suite" "$abi"; then
		kernel_begin
		native_dkms "$suite" "$abi" || true
		kernel_end "$suite" "$abi"
	else
		result fail "DKMS on $ARCH_DEB: a kernel with BTF among SUITES='$SUITES'"
	fi
else
	result fail "the $ARCH_DEB test programs build in $GUEST_SYSTEM"
fi
results_end
