#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# suite.sh check   for Debian's newest 6.1 and 6.12 kernels: build the module
#                  (zero warnings), boot it under QEMU and run tests/run.sh;
#                  records "<passed> <failed>" in $BPF_PRELOAD_RESULT if set
# suite.sh run     boot the newest 6.12 kernel with the module and show what
#                  a user sees
#
# Work areas are under build/<abi>/; kernels are cached by debian-kernel.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build
mode=${1:-check}
case $mode in
check) series=(6.1 6.12) ;;
run) series=(6.12) ;;
*) echo "usage: $0 check|run" >&2; exit 2 ;;
esac

passed=0
failed=0
result() {	# result <ok> <description>
	if [ "$1" = ok ]; then
		passed=$((passed + 1)); echo "suite: ok - $2"
	else
		failed=$((failed + 1)); echo "suite: FAIL - $2"
	fi
}

# Builds the module against $kdir from the working tree the way users get
# it, through DKMS (`dkms add` + `dkms build -k $abi`, in private DKMS trees):
# the VM loads build/$abi/src/bpf_preload.ko, the module DKMS built.
# build.log holds DKMS's output and its make.log.
build_module() {
	local abi=$1 kdir=$2 dir=build/$1/src
	rm -rf "$dir" && mkdir -p "build/$abi"
	scripts/dkms-build.sh "$abi" "$kdir" "$dir" >"build/$abi/build.log" 2>&1
}

# Runs tests/run.sh $1 on kernel $abi; the guest's console goes to stdout
# and build/$abi/vm.log.
boot() {
	local mode=$1 abi=$2 vmlinuz=$3 root=build/$2/root
	rm -rf "$root" && mkdir -p "$root/tests"
	cp "build/$abi/src/bpf_preload.ko" "$root/"
	cp -r tests/run.sh tests/bin "$root/tests/"
	printf '#!/bin/sh\nexec /tests/run.sh %s\n' "$mode" >"$root/run-in-vm"
	chmod +x "$root/run-in-vm"
	scripts/mkinitramfs.sh --out "build/$abi/initrd.cpio.gz" --root "$root" \
		--kver "$abi" >/dev/null
	scripts/vm.sh --kernel "$vmlinuz" --initrd "build/$abi/initrd.cpio.gz" \
		--timeout 600 --log "build/$abi/vm.log"
}

make -C tests >/dev/null

for s in "${series[@]}"; do
	abi=$(scripts/debian-kernel.sh abi "$s")
	eval "$(scripts/debian-kernel.sh fetch "$abi")"
	# shellcheck disable=SC2154 # kdir and vmlinuz come from fetch
	if ! build_module "$abi" "$kdir"; then
		cat "build/$abi/build.log"; result fail "$abi: dkms build -k $abi"; continue
	fi
	if grep -i 'warning' "build/$abi/build.log"; then
		result fail "$abi: dkms build -k $abi, zero warnings"
	else
		result ok "$abi: dkms build -k $abi, zero warnings"
	fi
	if [ "$mode" = run ]; then
		boot show "$abi" "$vmlinuz"
		exit
	fi
	vm_rc=0
	boot check "$abi" "$vmlinuz" || vm_rc=$?
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "build/$abi/vm.log" | tail -1)
	if [ -z "$totals" ]; then
		result fail "$abi: in-VM suite ran to completion (vm.sh rc $vm_rc)"
		continue
	fi
	read -r vm_pass vm_fail <<<"$totals"
	echo "suite: $abi: $vm_pass passed, $vm_fail failed in the VM"
	passed=$((passed + vm_pass))
	failed=$((failed + vm_fail))
	[ "$vm_rc" -eq 0 ] || [ "$vm_fail" -ne 0 ] || result fail "$abi: VM exit status $vm_rc"
done

echo "suite: $passed passed, $failed failed"
[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$passed $failed" >"$BPF_PRELOAD_RESULT"
[ "$failed" -eq 0 ]
