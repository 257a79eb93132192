#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-vm.sh check   per kernel of $SUITES and $BPF_PRELOAD_ARCH (default
#                     amd64): the module as users build it (DKMS, or a cross
#                     build) in the suite's chroot, its skeleton, a control
#                     build with the other byte order's, then a QEMU boot
#                     running tests/run.sh and tests/byte_order.sh
# check-vm.sh run     boot the stable release's newest kernel with the module
#                     and show what a user sees
# Work areas are build/<abi>/.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
mode=${1:-check}
order=little other_order=big
if [ "$ARCH_DEB" = s390x ]; then order=big other_order=little; fi

config_y() { grep -q "^$1=y" "$K_KDIR_HOST/.config"; }

# The module into OUT/bpf_preload.ko: results for the build, zero warnings.
module_build() { # module_build OUT
	cross || { dkms_build "$1"; return; }
	copy_sources "$1/src"
	builds "$K_SUITE $K_ABI: cross-build (make ARCH=$KARCH CROSS_COMPILE=$TRIPLET-)" \
		"$1/build.log" module_make "$TOP/$1/src" || return
	cp "$1/src/bpf_preload.ko" "$1/"
}

# Without BTF, `make` must refuse; kbuild itself still builds.
no_btf_build() { # no_btf_build OUT
	local out=$1 src=$1/src
	copy_sources "$src"
	if module_make "$TOP/$src" >"$out/make.log" 2>&1; then
		result fail "$K_SUITE $K_ABI: make refuses a kernel without BTF"
	else
		check "$K_SUITE $K_ABI: make refuses it: CONFIG_DEBUG_INFO_BTF is off" \
			grep -q 'CONFIG_DEBUG_INFO_BTF is off' "$out/make.log"
	fi
	logged "$K_SUITE $K_ABI: kbuild builds the module anyway" "$out/build.log" \
		module_make "$K_KDIR" M="$TOP/$src" modules || return
	cp "$src/bpf_preload.ko" "$out/"
	check "$K_SUITE $K_ABI: kbuild builds the module with zero warnings" no_warnings "$out/build.log"
}

# The skeleton a correct build for ORDER embeds. This restates the rule of
# iterators/iterators_variant.h on purpose: an expectation read from that
# header would agree with a wrong one (the wrong-variant mutant). The guest
# has its own, t::maps_variant() in tests/common.hpp, from the running
# kernel rather than its build config.
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

# Blob $2 (insns or data) of skeleton header $1 as " xx" tokens, as od
# prints bytes. bpftool writes it as a C string literal of \xNN and \0
# escapes split by backslash-newline continuations.
skel_blob() { # skel_blob HEADER insns|data
	awk -v want="opts.$2 = (void *)\"" '
		index($0, want) { on = 1; next }
		on && /^";/ { exit }
		on && /";$/ { sub(/";$/, ""); print; exit }
		on { print }
	' "$1" | sed -e 's/\\$//' | tr -d '\n' |
		sed -e 's/\\x\([0-9a-f][0-9a-f]\)/ \1/g' -e 's/\\0/ 00/g'
}

# The light skeletons of iterators/ that KO embeds: both of a skeleton's
# blobs (opts.insns, opts.data) appear byte for byte in the module. The
# four skeletons' blobs all differ, so this tells which one a build picked
# without trusting the preprocessor.
embedded_skels() { # embedded_skels KO
	local ko_hex h blob b
	ko_hex=$(od -An -v -tx1 "$1" | tr -d '\n')
	for h in iterators/*.lskel-*-endian.h; do
		for blob in insns data; do
			b=$(skel_blob "$h" "$blob")
			# Anything but " xx" tokens means the header format changed.
			[[ -n $b && -z ${b//[ 0-9a-f]/} ]] || { echo "$h: cannot read its opts.$blob blob"; return 1; }
			[[ $ko_hex == *"$b"* ]] || continue 2
		done
		echo "${h##*/}"
	done
}

embeds() { # embeds KO SKELETON: exactly that skeleton
	local got
	[ -f "$1" ] || { echo "$1: no such file"; return 1; }
	got=$(embedded_skels "$1" | tr '\n' ' ') || { echo "$got"; return 1; }
	[ "$got" = "$2 " ] || { echo "$1 embeds: ${got:-none}"; return 1; }
}

# A build that picked the wrong byte order: it must embed that skeleton,
# and fail to load (byte_order.sh).
control_build() { # control_build DIR
	local dir=$1 h skel
	copy_sources "$dir"
	for h in "$dir"/iterators/*.lskel-"$order"-endian.h; do
		cp "${h%-"$order"-endian.h}-$other_order-endian.h" "$h"
	done
	logged "$K_SUITE $K_ABI: the control module ($other_order-endian skeletons) builds" "$dir.log" \
		module_make "$TOP/$dir" || return
	skel=$(expected_skel "$other_order")
	check "$K_SUITE $K_ABI: the control build embeds $skel, which the check tells apart" \
		embeds "$dir/bpf_preload.ko" "$skel"
}

# The C++ core's debug info: natively, addr2line takes bpf_preload_fill to
# its line in bpf_preload_kern.cpp; in a cross build, a C++ compile unit of
# bpf_preload_kern.cpp (binutils print ??:? for bookworm's arm64 6.1 .ko).
cxx_dwarf() { # cxx_dwarf KO
	local desc="$K_SUITE $K_ABI: the C++ core has debug info"
	if cross; then
		check "$desc: a C++ compile unit of bpf_preload_kern.cpp" sh -c "readelf \
			--debug-dump=info $1 | grep -E 'DW_AT_(name|language)' |
			grep -B1 'bpf_preload_kern\.cpp$' | grep -q 'C++'"
	else
		check "$desc: addr2line finds bpf_preload_fill in bpf_preload_kern.cpp" \
			in_build_env sh -c "addr2line -e $1 -j .text 0x\$(nm $1 |
			awk '\$3 == \"bpf_preload_fill\" {print \$1}') | grep 'bpf_preload_kern\.cpp:[0-9]'"
	fi
}

check_kernel() { # check_kernel SUITE ABI (after kernel_use)
	local suite=$1 abi=$2 w=build/$2 root=build/$2/vm/root c_ko skel
	rm -rf "$w/vm" && mkdir -p "$root/c_module" "$root/control"
	if ! config_y CONFIG_DEBUG_INFO_BTF; then
		no_btf_build "$w/src" || return 0
		cp "$w/src/bpf_preload.ko" "$root/"
		vm_suite "$suite $abi" "$w/vm" "/tests/byte_order.sh no-btf"
		return 0
	fi
	module_build "$w/src" || return 0
	cxx_dwarf "$w/src/bpf_preload.ko"
	skel=$(expected_skel "$order")
	check "$suite $abi: the module embeds exactly $skel" embeds "$w/src/bpf_preload.ko" "$skel"
	cp "$w/src/bpf_preload.ko" "$root/"
	control_build "$w/control" && cp "$w/control/bpf_preload.ko" "$root/control/"
	if cross; then
		echo "the kernel's own C module is built for $NATIVE kernels only" \
			>"$root/c_module/none"
	elif c_ko=$(c_module 2>"$w/c_module.log"); then
		cp "$c_ko" "$root/c_module/"
	else
		cat "$w/c_module.log"
		result fail "$suite $abi: the kernel's own C module builds"
	fi
	vm_suite "$suite $abi" "$w/vm" "/tests/run.sh check" \
		"/tests/byte_order.sh check $order /control/bpf_preload.ko"
}

# DKMS on the foreign architecture itself, once, for target_kernel, in its
# chroot of the release (qemu-user runs the compiler).
native_dkms() { # native_dkms SUITE ABI (after kernel_use)
	local out=build/$2/native-dkms log=build/$2/native-headers.log skel
	K_BUILD_SYSTEM=$1:$ARCH_DEB
	if logged "$1 $2: linux-headers-$2 installs in the $ARCH_DEB chroot" "$log" \
		"$CHROOT" apt "$K_BUILD_SYSTEM" install "linux-headers-$2" && dkms_build "$out"; then
		skel=$(expected_skel "$order")
		check "$1 $2: DKMS's $ARCH_DEB build embeds exactly $skel" embeds "$out/bpf_preload.ko" "$skel"
	fi
	unset K_BUILD_SYSTEM
}

# The kernel a user most likely runs, for `run` and native_dkms: among the
# kernels of SUITES with BTF, the stable release's newest, else the last.
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
	vm_boot "build/$abi/run" "/tests/run.sh show"
	exit
fi
[ "$mode" = check ] || { echo "usage: $0 check|run" >&2; exit 2; }

results_begin "vm-$ARCH_DEB"
test_programs || results_end
for_each_kernel check_kernel
if ! cross; then :
elif read -r suite abi < <(target_kernel) && kernel_use "$suite" "$abi"; then
	per_kernel "$suite" "$abi" native_dkms "$suite" "$abi"
else
	result fail "DKMS on $ARCH_DEB: a kernel with BTF among SUITES='$SUITES'"
fi
results_end
