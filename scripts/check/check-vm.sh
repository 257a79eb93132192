#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-vm.sh check   for every kernel of $SUITES (scripts/kernel/kernels.sh):
#                     the module as DKMS builds it in the suite's chroot
#                     (zero warnings), then tests/run.sh in a QEMU boot of
#                     that kernel, with the kernel's own C module
#                     (bench/cmodule.sh) beside ours to compare with;
#                     records "P F S" in $BPF_PRELOAD_RESULT
# check-vm.sh run     boot the newest kernel of the current stable release
#                     with the module and show what a user sees
#
# Work areas are build/<abi>/.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
cd "$TOP"
mode=${1:-check}

if [ "$mode" = run ]; then
	# shellcheck disable=SC2086 # a list of suites
	SUITES=$(scripts/kernel/kernels.sh stable $SUITES)
	read -r suite abi < <(kernel_matrix | tail -n 1)
	kernel_use "$suite" "$abi"
	results_begin run
	dkms_build "build/$abi/src" || exit 1
	test_programs
	rm -rf "build/$abi/run" && mkdir -p "build/$abi/run/root"
	cp "build/$abi/src/bpf_preload.ko" "build/$abi/run/root/"
	vm_boot "build/$abi/run" /tests/run.sh show
	exit
fi
[ "$mode" = check ] || { echo "usage: $0 check|run" >&2; exit 2; }

# Builds and boots one kernel.
check_kernel() { # check_kernel SUITE ABI (after kernel_use)
	local suite=$1 abi=$2 root=build/$2/vm/root c_ko
	dkms_build "build/$abi/src" || return 0
	rm -rf "${root%/root}" && mkdir -p "$root/c_module"
	cp "build/$abi/src/bpf_preload.ko" "$root/"
	# The kernel's own module, to compare with (tests/run.sh).
	if c_ko=$(c_module 2>"build/$abi/c_module.log"); then
		cp "$c_ko" "$root/c_module/"
	else
		cat "build/$abi/c_module.log"
		result fail "$suite $abi: the kernel's own C module builds"
	fi
	vm_suite "$suite $abi" "build/$abi/vm" /tests/run.sh check
}

results_begin vm
test_programs
for_each_kernel check_kernel
results_end
