#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# builtin.sh check: checks for a kernel with our preload built into vmlinux
# (tests/README.md), KTAP. Runs as the first thing /run-in-vm does, before
# anything mounted bpffs; the kernel must boot with initcall_debug.

INITFN=bpf_preload_module_init
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"

no_bpffs() { # the precondition of the tests before and after the mounts
	is_mounted || return 0
	diag "precondition: no bpffs mounted"
	run cat /proc/mounts
	return 1
}

iterators_loaded() {
	iter_progs_ok || fail
	iter_links_ok || fail
}

t_no_module() {
	find / -xdev -name '*.ko*' >"$TMP/ko" 2>/dev/null
	[ ! -s "$TMP/ko" ] || fail "module files in the root filesystem:" "$TMP/ko"
	! grep -q "^$MODNAME " /proc/modules || fail "$MODNAME is in /proc/modules"
	diag "/proc/modules has $(wc -l </proc/modules) line(s)"
}

t_boot_loaded() { no_bpffs && iterators_loaded; }

# The boot log is in $TMP/klog.before (suite_start).
t_initcall() {
	grep -qw initcall_debug /proc/cmdline ||
		{ diag "initcall_debug is not on the command line: $(cat /proc/cmdline)"; return 1; }
	grep -E "calling +$INITFN\+0x|initcall $INITFN\+0x" "$TMP/klog.before" >"$TMP/ours"
	diag_file "$TMP/ours"
	grep -Eq "calling +$INITFN\+0x" "$TMP/ours" || fail "no 'calling $INITFN' line"
	grep -Eq "initcall $INITFN\+0x[0-9a-f]+/0x[0-9a-f]+ returned 0 " "$TMP/ours" ||
		fail "no 'initcall $INITFN ... returned 0' line"
	! grep -E "$MODNAME: .*failed" "$TMP/klog.before" >"$TMP/err" ||
		fail "errors logged:" "$TMP/err"
}

# Built in, the preload loads in PID 1's context before the kernel opens the
# console for init: an fd it left open would push the console to fds 1-3,
# and /init, which redirects 0-2 only, would still hold it as fd 3.
t_init_fds() {
	run ls -l /proc/1/fd
	for _fd in /proc/[0-9]*/fd/*; do
		_l=$(readlink "$_fd" 2>/dev/null) || continue
		_p=${_fd#/proc/}
		_p=${_p%%/*}
		_n=${_fd##*/}
		case $_p:$_l in
		1:/dev/console) [ "$_n" -le 2 ] || fail "PID 1 holds fd $_n -> $_l" ;;
		"$$":*) ;;
		*:anon_inode:bpf*) fail "$_fd -> $_l ($(cat "/proc/$_p/comm" 2>/dev/null))" ;;
		esac
	done
}

t_every_mount() {
	for _i in 1 2 3; do
		mount_at "$TMP/m$_i" || { fail; continue; }
		run debug_ok "$TMP/m$_i" || fail
	done
	mkdir -p "$TMP/ns"
	run unshare -m sh -c "mount -t bpf bpf '$TMP/ns' &&
		'$BIN/debug_check' --prog dump_bpf_map:bpf_iter_bpf_map progs '$TMP/ns/progs.debug' &&
		'$BIN/debug_check' --map iterator.rodata maps '$TMP/ns/maps.debug'" || fail
	for _i in 1 2 3; do
		run umount "$TMP/m$_i" || fail
	done
}

# Nothing can unload a built-in preload: its links stay.
t_after_umount() {
	no_bpffs || return 1
	iterators_loaded
	[ "$KTAP_FAILED" -eq 0 ] && mount_serves "$TMP/again"
}

case ${1:-} in
check) ktap_suite "
no_module|no module file in the root filesystem, $MODNAME not in /proc/modules
boot_loaded|before any bpffs mount, dump_bpf_map and dump_bpf_prog are loaded with two iter links
initcall|initcall_debug: $INITFN was called at boot and returned 0, no error logged
init_fds|PID 1 has no fd above 2 on the console or a BPF object; no process holds a BPF fd
every_mount|three bpffs mounts and one in a new mount namespace each show valid debug files
after_umount|with no bpffs mounted the iterators stay; a new mount shows the files again
" "kernel $KREL, $MODNAME built in" ;;
*) usage check ;;
esac
