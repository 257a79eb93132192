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
MODNAME=bpf_preload
BIN=$(cd "$(dirname "$0")" && pwd)/bin
TMP=${TMPDIR:-/tmp}/byte_order.$$
OUT=$TMP/out

diag() { printf '# %s\n' "$*"; }

run() {
	diag "\$ $*"
	"$@" >"$OUT" 2>&1
	_rc=$?
	sed 's/^/#   /' "$OUT"
	[ "$_rc" -eq 0 ] || diag "(exit status $_rc)"
	return "$_rc"
}

module_loaded() { [ -d /sys/module/$MODNAME ]; }

iterators_present() {
	bpftool prog show 2>/dev/null | grep -Eq 'name dump_bpf_(map|prog) ' ||
		bpftool link show 2>/dev/null | grep -Eq '^[0-9]+: iter '
}

# Polls for at most 5 s until the iterators are gone.
iterators_gone() {
	_i=0
	while [ "$_i" -lt 50 ]; do
		iterators_present || return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	! iterators_present
}

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

# New dmesg lines since mark_dmesg.
mark_dmesg() { dmesg >"$TMP/dmesg.mark"; }
new_dmesg() {
	dmesg >"$TMP/dmesg.now"
	tail -n +$(($(wc -l <"$TMP/dmesg.mark") + 1)) "$TMP/dmesg.now"
}

# insmod $1 must fail, say why in one bpf_preload line, and leave nothing.
load_fails_cleanly() {
	mark_dmesg
	if run insmod "$1"; then
		diag "insmod $1 succeeded; expected a failure"
		run rmmod "$MODNAME"
		return 1
	fi
	new_dmesg >"$TMP/why"
	sed 's/^/#   dmesg: /' "$TMP/why"
	_ok=0
	grep -q "$MODNAME: .* failed: " "$TMP/why" ||
		{ diag "no '$MODNAME: <step> failed: <err>' line in dmesg"; _ok=1; }
	module_loaded && { diag "/sys/module/$MODNAME exists after the failure"; _ok=1; }
	iterators_gone || { diag "iterator programs or links left behind"; _ok=1; }
	return "$_ok"
}

# A fresh bpffs mount gets no debug files (nobody holds bpf_preload_ops).
mount_has_no_files() {
	mkdir -p "$TMP/mnt"
	run mount -t bpf bpf "$TMP/mnt" || return 1
	_ok=0
	if [ -e "$TMP/mnt/maps.debug" ] || [ -e "$TMP/mnt/progs.debug" ]; then
		diag "debug files on a mount without the module"
		_ok=1
	fi
	run umount "$TMP/mnt" || _ok=1
	return "$_ok"
}

no_kernel_warnings() {
	dmesg >"$TMP/dmesg.all"
	tail -n +$(($(wc -l <"$TMP/dmesg.start") + 1)) "$TMP/dmesg.all" >"$TMP/dmesg.new"
	_bad='(^|[^A-Za-z])(WARNING|BUG|Oops)([^A-Za-z]|$)|Call Trace'
	if grep -Eq "$_bad" "$TMP/dmesg.new"; then
		grep -E "$_bad" "$TMP/dmesg.new" | sed 's/^/#   /'
		return 1
	fi
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
	module_loaded && { diag "precondition: $MODNAME not loaded"; return 1; }
	load_fails_cleanly "$CONTROL"
}

t_control_leaves_nothing() {
	mount_has_no_files
}

t_module_loads() {
	run "$BIN/kmod_load" "$MODULE" || return 1
	_ok=0
	mkdir -p "$TMP/mod"
	if run mount -t bpf bpf "$TMP/mod"; then
		run "$BIN/debug_check" --print --map iterator.rodata maps \
			"$TMP/mod/maps.debug" || _ok=1
		run "$BIN/debug_check" --print \
			--prog dump_bpf_map:bpf_iter_bpf_map \
			--prog dump_bpf_prog:bpf_iter_bpf_prog \
			progs "$TMP/mod/progs.debug" || _ok=1
		run umount "$TMP/mod" || _ok=1
	else
		_ok=1
	fi
	run rmmod "$MODNAME" || _ok=1
	iterators_gone || { diag "iterators left after umount and rmmod"; _ok=1; }
	return "$_ok"
}

CHECK_TESTS="
kernel_order|the kernel and user space are \$ORDER-endian
control_fails|a module embedding the other byte order's skeleton fails to load, cleanly
control_leaves_nothing|after that failure a bpffs mount has no debug files
module_loads|the module under test then loads and serves both files
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
"

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
	mount_has_no_files
}

NO_BTF_TESTS="
no_btf|the kernel has no BTF (/sys/kernel/btf/vmlinux)
module_fails|insmod fails cleanly: an error, a bpf_preload '<step> failed' line, nothing left loaded
no_files|a bpffs mount then has no debug files
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
"

t_dmesg() { no_kernel_warnings; }

run_tests() {
	_list=$(echo "$1" | grep '|')
	echo "TAP version 13"
	echo "1..$(echo "$_list" | wc -l)"
	diag "kernel $(uname -r), module $MODULE"
	_num=0 _pass=0 _fail=0
	IFS='
'
	for _t in $_list; do
		IFS=' 	
'
		_num=$((_num + 1))
		_desc=$(eval "echo \"${_t#*|}\"")
		if "t_${_t%%|*}"; then
			echo "ok $_num $_desc"
			_pass=$((_pass + 1))
		else
			echo "not ok $_num $_desc"
			_fail=$((_fail + 1))
		fi
	done
	IFS=' 	
'
	module_loaded && rmmod "$MODNAME"
	echo "# Totals: pass:$_pass fail:$_fail xfail:0 xpass:0 skip:0 error:0"
	[ $_fail -eq 0 ]
}

mkdir -p "$TMP" || exit 1
dmesg >"$TMP/dmesg.start"
case ${1:-} in
check)
	ORDER=${2:-}
	CONTROL=${3:-}
	case $ORDER in
	big | little) ;;
	*) echo "usage: $0 check big|little CONTROL.ko" >&2; exit 2 ;;
	esac
	run_tests "$CHECK_TESTS"
	;;
no-btf)
	run_tests "$NO_BTF_TESTS"
	;;
*)
	echo "usage: $0 check big|little CONTROL.ko | no-btf" >&2
	exit 2
	;;
esac
rc=$?
rm -rf "$TMP"
exit $rc
