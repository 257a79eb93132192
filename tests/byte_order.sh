#!/bin/sh
# byte_order.sh check big|little | no-btf: byte-order tests for
# bpf_preload.ko (tests/README.md), in the test VM after run.sh, KTAP. A
# build with the other byte order's tables fails to compile (check-vm.sh
# checks that on the host). On a kernel without BTF (Debian's s390x 6.1)
# the iterators cannot load: the module must fail cleanly.

set -u

# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"

order_of() {
	case $3 in
	"$1") echo big ;;
	"$2") echo little ;;
	*) echo unknown ;;
	esac
}

# The kernel's from the magic number at the start of its BTF (0xeb9f, in the
# kernel's byte order), user space's from the first byte of the 16-bit 1.
t_kernel_order() {
	_k=$(od -An -tx1 -N2 /sys/kernel/btf/vmlinux 2>/dev/null | tr -d ' \n')
	_k=$(order_of eb9f 9feb "$_k")
	_u=$(order_of 256 1 "$(printf '\001\000' | od -An -tu2 | tr -d ' \n')")
	diag "$(uname -m): kernel BTF magic says $_k-endian, user space $_u-endian"
	[ "$_k" = "$ORDER" ] && [ "$_u" = "$ORDER" ]
}

# After a failed load (t_module_fails).
t_no_files() { no_debug_files "$TMP/mnt"; }

t_module_loads() {
	unloaded_first && run "$BIN/kmod_load" "$MODULE" || return 1
	mount_serves "$TMP/mod" || fail
	unload
}

t_no_btf() {
	[ -e /sys/kernel/btf/vmlinux ] || { diag "no /sys/kernel/btf/vmlinux"; return 0; }
	diag "/sys/kernel/btf/vmlinux exists: run run.sh check on this kernel"
	return 1
}

# insmod must fail, say why in one bpf_preload line, and leave nothing.
t_module_fails() {
	insmod_refused "$MODULE"
	grep -q "$MODNAME: .* failed: " "$TMP/klog.new" ||
		fail "no '$MODNAME: <step> failed: <err>' line in dmesg"
	wait_iterators_gone
}

case ${1:-}:${2:-} in
check:big | check:little)
	ORDER=$2
	ktap_suite "
kernel_order|the kernel and user space are $ORDER-endian
module_loads|the module under test loads and serves both files
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
" "kernel $KREL, module $MODULE"
	;;
no-btf:*)
	ktap_suite "
no_btf|the kernel has no BTF (/sys/kernel/btf/vmlinux)
module_fails|insmod fails cleanly: an error, a bpf_preload '<step> failed' line, nothing left loaded
no_files|a bpffs mount then has no debug files
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
" "kernel $KREL, module $MODULE"
	;;
*) usage "check big|little | no-btf" ;;
esac
