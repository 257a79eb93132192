#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# s390x-suite.sh check   for Debian's newest s390x 6.1 and 6.12 kernels:
#                        cross-build the module (zero warnings), check which
#                        skeleton it embeds, boot the kernel under
#                        qemu-system-s390x (TCG) and run the in-VM suite;
#                        records "<passed> <failed>" in $BPF_PRELOAD_RESULT
# s390x-suite.sh run     boot the newest s390x 6.12 kernel with the module
#                        and show what a user sees
#
# Everything is built on this amd64 host from Debian packages: the module
# with the s390x cross gcc/g++ of the kernel's own gcc version (from its
# CONFIG_CC_VERSION_TEXT) against a private kbuild tree
# (scripts/kernel/debian-kernel.sh --arch s390x), the test programs statically
# against libbpf-dev:s390x and friends unpacked into
# ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/s390x-devroot, the initramfs
# from busybox-static:s390x and bpftool:s390x (scripts/vm/mkinitramfs.sh
# --arch s390x).
#
# Per kernel:
#   * with BTF (6.12 from bookworm-backports): `make KDIR=... ARCH=s390
#     CROSS_COMPILE=s390x-linux-gnu-` with zero warnings; the module embeds
#     exactly the big-endian skeleton of the variant that kernel needs
#     (scripts/pkg/skel-embedded.sh); a control build with the little-endian
#     skeletons in the big-endian ones' place embeds the little-endian one;
#     in the VM tests/run.sh check (the amd64 suite) and then
#     tests/byte_order.sh check big, where the control module must fail to
#     load.
#   * without BTF (Debian's bookworm s390x 6.1 kernel has
#     CONFIG_DEBUG_INFO_BTF off, so no BPF iterator can load on it): `make`
#     must refuse with its BTF message, kbuild must still cross-build the
#     sources with zero warnings, and in the VM tests/byte_order.sh no-btf
#     checks that the module fails to load cleanly.
# Work areas are build/s390x/ (test programs) and build/<abi>/ (module,
# control module, VM root, logs).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
cache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
cross=s390x-linux-gnu-
mode=${1:-check}
case $mode in
check | run) ;;
*) echo "usage: $0 check|run" >&2; exit 2 ;;
esac
mkdir -p build/s390x

passed=0
failed=0
result() {	# result ok|fail <description>
	if [ "$1" = ok ]; then
		passed=$((passed + 1)); echo "s390x: ok - $2"
	else
		failed=$((failed + 1)); echo "s390x: FAIL - $2"
	fi
}

finish() {
	echo "s390x: $passed passed, $failed failed"
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$passed $failed" >"$BPF_PRELOAD_RESULT"
	[ "$failed" -eq 0 ]
	exit
}

# Host packages: the cross compilers, QEMU, and what the amd64 suite needs.
deps() {
	local p missing=()
	for p in "$@" binutils-s390x-linux-gnu \
		qemu-system-misc qemu-user-static binutils libbpf-dev dwarves kmod cpio make; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "s390x: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends install \
		"${missing[@]}" >/dev/null 2>&1 || {
		apt-get -o DPkg::Lock::Timeout=600 -qq update
		apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends install \
			"${missing[@]}" >/dev/null
	}
}

# Headers and static libraries for the test programs, never installed.
devroot=$cache/s390x-devroot
ensure_devroot() {
	[ -f "$devroot/.debs" ] && return 0
	rm -rf "$devroot.tmp"
	scripts/kernel/apt-private.sh unpack "$devroot.tmp" libbpf-dev:s390x libelf-dev:s390x \
		zlib1g-dev:s390x libzstd-dev:s390x
	rm -rf "$devroot"
	mv "$devroot.tmp" "$devroot"
}

# The s390x test programs, with tests/Makefile (its CXXFLAGS and LDFLAGS
# are added to ours, so they come from the environment).
tests_bin=$top/build/s390x/bin
build_tests() {
	local log=build/s390x/tests-build.log p bad=0
	rm -rf "$tests_bin"
	if ! CXX=${cross}g++ CXXFLAGS="-O2 -g -isystem $devroot/usr/include" \
		LDFLAGS="-L$devroot/usr/lib/s390x-linux-gnu" \
		make -C tests BIN="$tests_bin" >"$log" 2>&1; then
		cat "$log"
		result fail "s390x test programs cross-build"
		return 1
	fi
	for p in "$tests_bin"/*; do
		if [ "$(readelf -h "$p" | awk '/Machine:/ { $1 = ""; print }')" != " IBM S/390" ] ||
			readelf -l "$p" | grep -q INTERP; then
			echo "$p: not a static s390x executable"
			bad=1
		fi
	done
	if grep -i warning "$log" || [ "$bad" -ne 0 ]; then
		result fail "s390x test programs: static s390x executables, zero warnings"
	else
		result ok "s390x test programs: static s390x executables, zero warnings"
	fi
	if qemu-s390x-static "$tests_bin/debug_check" --self-test >build/s390x/self-test.log 2>&1; then
		result ok "s390x debug_check --self-test passes under qemu-s390x-static"
	else
		cat build/s390x/self-test.log
		result fail "s390x debug_check --self-test passes under qemu-s390x-static"
	fi
}

config_y() { grep -q "^$1=y" "$2/.config"; }

# The skeleton a correct build for kernel tree $1 embeds: big-endian, and
# counting on 6.6+ kernels with a JIT (iterators/iterators.lskel.h).
expected_skel() {
	local kdir=$1 ver
	ver=$(sed -n 's/^#define LINUX_VERSION_CODE \([0-9]*\)$/\1/p' \
		"$kdir/include/generated/uapi/linux/version.h")
	if [ "${ver:-0}" -ge $(((6 << 16) + (6 << 8))) ] && config_y CONFIG_BPF_JIT "$kdir"; then
		echo iterators.lskel-big-endian.h
	else
		echo iterators_nocount.lskel-big-endian.h
	fi
}

# cross_build <dir> <kdir> <log>: the module the way users build it.
cross_build() {
	make -C "$1" KDIR="$2" ARCH=s390 CROSS_COMPILE="$cross" >"$3" 2>&1
}

# kbuild_build <dir> <kdir> <log>: kbuild directly, without the
# top-level Makefile's check of the kernel.
kbuild_build() {
	mkdir -p "$1/.skel_include/bpf"
	ln -sf /usr/include/bpf/skel_internal.h "$1/.skel_include/bpf/skel_internal.h"
	make -C "$2" M="$(cd "$1" && pwd)" ARCH=s390 CROSS_COMPILE="$cross" modules >"$3" 2>&1
}

# A copy of the sources whose big-endian skeletons are the little-endian
# ones: what a build would embed if it picked the wrong byte order.
make_control_sources() {
	local dir=$1 be
	rm -rf "$dir"
	scripts/pkg/dkms-source.sh "$dir"
	for be in "$dir"/iterators/*.lskel-big-endian.h; do
		cp "${be%-big-endian.h}-little-endian.h" "$be"
	done
}

# Boots kernel $2 with root $3 and run-in-vm $4; log in build/$1/vm.log.
boot() {
	local abi=$1 vmlinuz=$2 root=$3
	printf '#!/bin/sh\n%s\n' "$4" >"$root/run-in-vm"
	chmod +x "$root/run-in-vm"
	scripts/vm/mkinitramfs.sh --arch s390x --out "build/$abi/initrd.cpio.gz" \
		--root "$root" --kver "$abi" >/dev/null
	scripts/vm/vm.sh --arch s390x --kernel "$vmlinuz" --initrd "build/$abi/initrd.cpio.gz" \
		--timeout 600 --log "build/$abi/vm.log"
}

# The kernels: the ABI each version of the s390x kernel metapackage names,
# across the suites (bookworm's and bookworm-backports'), the newest per
# series; in `run` mode only the newest of all.
s390x_abis() {
	scripts/kernel/apt-private.sh cache show linux-image-s390x 2>/dev/null |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -n 's/^ *linux-image-\([0-9][^ ]*-s390x\)\( .*\)\{0,1\}$/\1/p' | sort -V -u |
		awk -F. '{ s = $1 "." $2; if (!(s in n)) o[++c] = s; n[s] = $0 }
			END { for (i = 1; i <= c; i++) print n[o[i]] }'
}

# The kernel's own compiler, cross: gcc-N and g++-N for s390x.
kernel_cross_compiler() {
	local n
	n=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([a-z0-9_]*-linux-gnu-\)\{0,1\}gcc-\([0-9]*\) .*/\2/p' "$1/.config")
	[ -n "$n" ] || { echo "s390x: cannot tell the gcc of $1" >&2; return 1; }
	deps "gcc-$n-s390x-linux-gnu" "g++-$n-s390x-linux-gnu"
}

deps g++-s390x-linux-gnu
ensure_devroot
build_tests || finish

mapfile -t abis < <(s390x_abis)
((${#abis[@]})) || { result fail "apt knows an s390x kernel metapackage"; finish; }
[ "$mode" = check ] || abis=("${abis[-1]}")
for abi in "${abis[@]}"; do
	fetch=$(scripts/kernel/debian-kernel.sh fetch "$abi") ||
		{ result fail "$abi: kernel image and kbuild tree fetched"; continue; }
	eval "$fetch"
	# shellcheck disable=SC2154 # kdir and vmlinuz come from fetch
	kernel_cross_compiler "$kdir" || { result fail "$abi: the kernel's cross compiler installed"; continue; }
	dir=build/$abi
	rm -rf "$dir" && mkdir -p "$dir"
	src=$dir/src
	scripts/pkg/dkms-source.sh "$src"
	btf=0
	config_y CONFIG_DEBUG_INFO_BTF "$kdir" && btf=1
	start=$SECONDS

	if [ "$btf" -eq 1 ]; then
		if ! cross_build "$src" "$kdir" "$dir/build.log"; then
			cat "$dir/build.log"
			result fail "$abi: module cross-builds (make ARCH=s390 CROSS_COMPILE=$cross)"
			continue
		fi
		if grep -i warning "$dir/build.log"; then
			result fail "$abi: module cross-builds with zero warnings"
		else
			result ok "$abi: module cross-builds with zero warnings"
		fi
	else
		# The kernel cannot host the iterators: make says so and stops.
		if cross_build "$src" "$kdir" "$dir/build.log"; then
			result fail "$abi: make refuses a kernel without BTF"
		elif grep -q 'CONFIG_DEBUG_INFO_BTF is off' "$dir/build.log"; then
			result ok "$abi: make refuses it: $(grep -o 'CONFIG_DEBUG_INFO_BTF is off' "$dir/build.log")"
		else
			cat "$dir/build.log"
			result fail "$abi: make refuses a kernel without BTF, saying why"
		fi
		if ! kbuild_build "$src" "$kdir" "$dir/kbuild.log"; then
			cat "$dir/kbuild.log"
			result fail "$abi: kbuild cross-builds the module anyway"
			continue
		fi
		if grep -i warning "$dir/kbuild.log"; then
			result fail "$abi: kbuild cross-builds the module with zero warnings"
		else
			result ok "$abi: kbuild cross-builds the module with zero warnings"
		fi
	fi
	build_s=$((SECONDS - start))

	want=$(expected_skel "$kdir")
	got=$(scripts/pkg/skel-embedded.sh "$src/bpf_preload.ko" | tr '\n' ' ' || true)
	if [ "$got" = "$want " ]; then
		result ok "$abi: the module embeds exactly $want"
	else
		result fail "$abi: the module embeds exactly $want (found: ${got:-none})"
	fi

	root=$dir/root
	rm -rf "$root" && mkdir -p "$root/tests"
	cp "$src/bpf_preload.ko" "$root/"
	cp -r tests/run.sh tests/byte_order.sh tests/lib "$root/tests/"
	cp -r "$tests_bin" "$root/tests/bin"
	if [ "$mode" = run ]; then
		boot "$abi" "$vmlinuz" "$root" "exec /tests/run.sh show" || true
		finish
	fi

	if [ "$btf" -eq 1 ]; then
		make_control_sources "$dir/control"
		if cross_build "$dir/control" "$kdir" "$dir/control.log"; then
			cwant=${want%-big-endian.h}-little-endian.h
			cgot=$(scripts/pkg/skel-embedded.sh "$dir/control/bpf_preload.ko" | tr '\n' ' ' || true)
			if [ "$cgot" = "$cwant " ]; then
				result ok "$abi: the control build embeds $cwant, which the check tells apart"
			else
				result fail "$abi: the control build embeds $cwant (found: ${cgot:-none})"
			fi
			mkdir -p "$root/control"
			cp "$dir/control/bpf_preload.ko" "$root/control/"
		else
			cat "$dir/control.log"
			result fail "$abi: the control module (little-endian skeletons) builds"
		fi
		# shellcheck disable=SC2016 # expanded in the VM
		run_in_vm='rc=0
/tests/run.sh check || rc=1
/tests/byte_order.sh check big /control/bpf_preload.ko || rc=1
exit $rc'
		suites=2
	else
		run_in_vm='exec /tests/byte_order.sh no-btf'
		suites=1
	fi

	vm_start=$SECONDS
	vm_rc=0
	boot "$abi" "$vmlinuz" "$root" "$run_in_vm" || vm_rc=$?
	vm_s=$((SECONDS - vm_start))
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$dir/vm.log")
	if [ "$(grep -c . <<<"$totals")" -ne "$suites" ]; then
		result fail "$abi: the $suites in-VM suite(s) ran to completion (vm.sh rc $vm_rc)"
		continue
	fi
	vm_pass=0 vm_fail=0
	while read -r p f; do
		vm_pass=$((vm_pass + p))
		vm_fail=$((vm_fail + f))
	done <<<"$totals"
	echo "s390x: $abi: $vm_pass passed, $vm_fail failed in the VM;" \
		"build ${build_s}s, boot and tests ${vm_s}s"
	passed=$((passed + vm_pass))
	failed=$((failed + vm_fail))
	[ "$vm_rc" -eq 0 ] || [ "$vm_fail" -ne 0 ] || result fail "$abi: VM exit status $vm_rc"
done

finish
