#!/bin/sh
# Byte-order tests for bpf_preload.ko; run inside the test VM as root
# (busybox sh), after run.sh. KTAP, like run.sh.
#
#   byte_order.sh check big|little CONTROL.ko
#       The kernel has the given byte order, and the module under test
#       (/bpf_preload.ko, or BPF_PRELOAD_KO) embeds the skeleton of that
#       byte order while CONTROL.ko, the same module built with the other
#       byte order's skeleton, does not load: so the in-VM suite would fail
#       if the wrong skeleton were embedded.
#   byte_order.sh no-btf
#       For a kernel without BTF (Debian's s390x 6.1): the iterators cannot
#       load there; the module must fail to load cleanly.
#
# The test programs are in bin/ next to this script.

# The t_* functions and their helpers are called through "t_$name".
# shellcheck disable=SC2317
set -u

MODULE=${BPF_PRELOAD_KO:-/bpf_preload.ko}
TMP=${TMPDIR:-/tmp}/byte_order.$$
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"

# The kernel's byte order from the magic number at the start of its BTF
# (0xeb9f, stored in the kernel's own byte order).
btf_byte_order() {
	case $(od -An -tx1 -N2 /sys/kernel/btf/vmlinux 2>/dev/null | tr -d ' \n') in
	eb9f) echo big ;;
	9feb) echo little ;;
	*) echo unknown ;;
	esac
}

# The same for user space: the first byte of the 16-bit value 1.
user_byte_order() {
	case $(printf '\001\000' | od -An -tu2 | tr -d ' \n') in
	256) echo big ;;
	1) echo little ;;
	*) echo unknown ;;
	esac
}

# insmod $1 must fail, say why in one bpf_preload line, and leave nothing.
load_fails_cleanly() {
	klog_drain
	if run insmod "$1"; then
		diag "insmod $1 succeeded; expected a failure"
		run rmmod "$MODNAME"
		return 1
	fi
	klog_drain
	sed 's/^/#   dmesg: /' "$TMP/klog.new"
	_ok=0
	grep -q "$MODNAME: .* failed: " "$TMP/klog.new" ||
		{ diag "no '$MODNAME: <step> failed: <err>' line in dmesg"; _ok=1; }
	mod_loaded && { diag "/sys/module/$MODNAME exists after the failure"; _ok=1; }
	wait_iterators_gone || _ok=1
	return "$_ok"
}

# --- check big|little CONTROL.ko --------------------------------------------

t_kernel_order() {
	_k=$(btf_byte_order)
	_u=$(user_byte_order)
	diag "$(uname -m): kernel BTF magic says $_k-endian, user space $_u-endian"
	[ "$_k" = "$ORDER" ] && [ "$_u" = "$ORDER" ]
}

t_control_fails() {
	[ -f "$CONTROL" ] || { diag "$CONTROL missing"; return 1; }
	mod_loaded && { diag "precondition: $MODNAME not loaded"; return 1; }
	load_fails_cleanly "$CONTROL"
}

t_control_leaves_nothing() {
	no_debug_files "$TMP/mnt"
}

t_module_loads() {
	run "$BIN/kmod_load" "$MODULE" || return 1
	_ok=0
	mount_serves "$TMP/mod" || _ok=1
	run rmmod "$MODNAME" || _ok=1
	wait_iterators_gone || _ok=1
	return "$_ok"
}

check_tests() {
	echo "
kernel_order|the kernel and user space are $ORDER-endian
control_fails|a module embedding the other byte order's skeleton fails to load, cleanly
control_leaves_nothing|after that failure a bpffs mount has no debug files
module_loads|the module under test then loads and serves both files
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
"
}

# --- no-btf -------------------------------------------------------------------

t_no_btf() {
	if [ -e /sys/kernel/btf/vmlinux ]; then
		diag "/sys/kernel/btf/vmlinux exists: run run.sh check on this kernel"
		return 1
	fi
	diag "no /sys/kernel/btf/vmlinux"
}

t_module_fails() {
	load_fails_cleanly "$MODULE"
}

t_no_files() {
	no_debug_files "$TMP/mnt"
}

NO_BTF_TESTS="
no_btf|the kernel has no BTF (/sys/kernel/btf/vmlinux)
module_fails|insmod fails cleanly: an error, a bpf_preload '<step> failed' line, nothing left loaded
no_files|a bpffs mount then has no debug files
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
"

t_dmesg() { klog_clean "$KLOG_BAD"; }

mkdir -p "$TMP" || exit 1
klog_start
case ${1:-} in
check)
	ORDER=${2:-}
	CONTROL=${3:-}
	case $ORDER in
	big | little) ;;
	*) echo "usage: $0 check big|little CONTROL.ko" >&2; exit 2 ;;
	esac
	ktap_run "$(check_tests)" "kernel $(uname -r), module $MODULE"
	;;
no-btf)
	ktap_run "$NO_BTF_TESTS" "kernel $(uname -r), module $MODULE"
	;;
*)
	echo "usage: $0 check big|little CONTROL.ko | no-btf" >&2
	exit 2
	;;
esac
rc=$?
mod_loaded && rmmod "$MODNAME"
rm -rf "$TMP"
exit $rc
