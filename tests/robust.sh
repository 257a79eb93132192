#!/bin/sh
# bpf_preload robustness suite: fault injection on every init step, object and
# fd accounting, load/unload churn, races, someone else's ops, a module built
# for another kernel. Runs inside the test VM as root (busybox sh), prints
# KTAP like run.sh and exits 0 only if every test passed.
#
#   robust.sh check
#
# Expected layout (scripts/check/check-robust.sh builds it):
#   /bpf_preload.ko               the normal build for this kernel
#   /robust/bpf_preload_fault.ko  the `make FAULT_INJECT=1` build
#   /robust/other_ops.ko          tests/other_ops, for this kernel
#   /robust/foreign.ko            the normal build for the other kernel
#   bin/ next to this script      bpf_count, bpf_churn, kmod_fds, debug_check
# busybox (unshare, timeout) on PATH; /proc, /sys, /dev mounted; the module
# not installed under /lib/modules (a bpffs mount must not autoload it).
#
# Tunables, from the environment (vm.sh --append "KEY=value" sets them):
#   ROBUST_CHURN=200           insmod/mount/read/umount/rmmod cycles
#   ROBUST_CHURN_MOUNTED=50    insmod/mount/rmmod/read/umount cycles
#   ROBUST_RACE_LOADS=50       insmod/rmmod rounds of the race test
#   ROBUST_RACE_MOUNTERS=3     processes mounting in their own namespaces
#   ROBUST_RACE_OBJECTS=1000   programs and maps created during the race
#   ROBUST_ONLY=a,b            run only these tests (function names in TESTS)
#
# Every wait is a poll with a deadline; a leak shows up as a timeout, never
# hides behind a fixed sleep. The kernel log is drained with `dmesg -c`
# around each load so that a test sees exactly the lines it caused; all of
# it is kept for the final WARNING/BUG check.

set -u

MODULE=${BPF_PRELOAD_KO:-/bpf_preload.ko}
FAULT_KO=/robust/bpf_preload_fault.ko
OTHER_KO=/robust/other_ops.ko
FOREIGN_KO=/robust/foreign.ko
OTHER=/sys/module/other_ops/parameters
KREL=$(uname -r)
TMP=${ROBUST_TMP:-${TMPDIR:-/tmp}/bpf_preload_robust}
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
SELF=$HERE/$(basename "$0")
BASELINE=$TMP/baseline

# %pe prints "-ENOMEM" where the kernel has CONFIG_SYMBOLIC_ERRNAME (Debian's
# do), "-12" where it does not (a tinyconfig-based kernel).
if grep -q ' errname$' /proc/kallsyms 2>/dev/null; then
	SYMBOLIC_ERRNAME=1
else
	SYMBOLIC_ERRNAME=0
fi
# pe NAME NUMBER: what %pe prints for -NUMBER on this kernel
pe() { if [ $SYMBOLIC_ERRNAME = 1 ]; then echo "-$1"; else echo "-$2"; fi; }

CHURN=${ROBUST_CHURN:-200}
CHURN_MOUNTED=${ROBUST_CHURN_MOUNTED:-50}
RACE_LOADS=${ROBUST_RACE_LOADS:-50}
RACE_MOUNTERS=${ROBUST_RACE_MOUNTERS:-3}
RACE_OBJECTS=${ROBUST_RACE_OBJECTS:-1000}

# Fault steps: id|description in the error message|errno name|errno. Each
# step fails with its own errno, so a test also sees that errno travel.
FAULTS="
open|open skeleton|ENOMEM|12
load|load skeleton|EINVAL|22
attach_map|attach dump_bpf_map|ENOSPC|28
attach_prog|attach dump_bpf_prog|E2BIG|7
link_map|get link of dump_bpf_map|EBADF|9
link_prog|get link of dump_bpf_prog|ENOENT|2
register|register bpf_preload_ops|EAGAIN|11
"

# --- helpers ------------------------------------------------------------------

# klog_expect_one LINE: since the last drain, the only line about the module
# (other than the loader's one-time taint notices) is exactly LINE.
klog_expect_one() {
	klog_drain
	grep "$MODNAME" "$TMP/klog.new" |
		grep -v -e 'taints kernel\.$' -e ' - tainting kernel$' -e ': kernel tainted\.$' >"$TMP/klog.ours"
	if [ "$(wc -l <"$TMP/klog.ours")" -eq 1 ] &&
		[ "$(cat "$TMP/klog.ours")" = "$1" ]; then
		diag "kernel log: $1"
		return 0
	fi
	diag "expected exactly one kernel log line: $1"
	diag "got:"
	diag_file "$TMP/klog.new"
	return 1
}

# Every object created since the baseline snapshot is gone (bounded wait).
settled() {
	run "$BIN/bpf_count" settle -t "${1:-10000}" "$BASELINE"
}

# rmmod_retry [NAME]: rmmod, retried for up to 5 s while a mount holds a
# reference on the module.
rmmod_retry() {
	poll rmmod "${1:-$MODNAME}" 2>/dev/null && return 0
	run rmmod "${1:-$MODNAME}"
}

# A fresh bpffs mount gets valid debug files (our module is serving).
serves() { mount_serves "$TMP/serve"; }

# bpf_preload_ops is NULL: a mount gets no files, and other_ops, which only
# loads while the hook is free, loads and sees its ops installed.
hook_free() {
	no_debug_files "$TMP/probe" || return 1
	run "$BIN/kmod_fds" "$OTHER_KO" || return 1
	_h=$(cat $OTHER/installed)
	run rmmod other_ops || return 1
	[ "$_h" = Y ] || { diag "other_ops/installed: $_h"; return 1; }
	diag "bpf_preload_ops was NULL: other_ops could take it"
}

# normal_cycle [CMD...]: the normal build loads (fd tables checked), serves
# a mount, passes CMD if given, and unloads, leaving nothing behind.
normal_cycle() {
	_n=0
	run "$BIN/kmod_fds" "$MODULE" || _n=1
	mod_loaded || return 1
	serves || _n=1
	[ $# -eq 0 ] || "$@" || _n=1
	rmmod_retry || _n=1
	settled || _n=1
	return $_n
}

# --- tests --------------------------------------------------------------------
# t_NAME [ARG]: 0 pass, 1 fail. Diagnostics on stdout before the result. A
# test that leaves bpf_preload or other_ops loaded fails, unless it names the
# module in KEEP_LOADED for the next test.

t_baseline() {
	_b=0
	if mod_loaded; then
		diag "$MODNAME is loaded already"
		_b=1
	fi
	if find "/lib/modules/$KREL" -name "$MODNAME.ko*" | grep -q .; then
		diag "$MODNAME is installed under /lib/modules: mounts would autoload it"
		_b=1
	fi
	# FOREIGN_KO is optional: a run over kernels of one series has none.
	for _f in "$MODULE" "$FAULT_KO" "$OTHER_KO"; do
		[ -f "$_f" ] || { diag "$_f missing"; _b=1; }
	done
	no_debug_files "$TMP/probe" || _b=1
	run "$BIN/bpf_count" list
	run "$BIN/bpf_count" snap "$BASELINE" || _b=1
	return $_b
}

# modinfo_of FILE: the module's .modinfo entries ("key=value"), read from
# the file itself (busybox modinfo wants a modules.dep).
modinfo_of() {
	tr '\0' '\n' <"$1" | grep -E '^(vermagic|license|description|depends|name|parm|parmtype|fault_inject)='
}

t_builds() {
	_b=0
	diag "$MODULE:"
	modinfo_of "$MODULE" >"$OUT"
	diag_file "$OUT"
	if grep -Eq '^(parm|parmtype)=fault_|^fault_inject=' "$OUT"; then
		diag "the normal build has fault injection"
		_b=1
	fi
	diag "$FAULT_KO:"
	modinfo_of "$FAULT_KO" >"$OUT"
	diag_file "$OUT"
	for _k in 'fault_inject=test build, not for production' \
		'parmtype=fault_step:charp' 'parmtype=fault_errno:int'; do
		grep -Fxq "$_k" "$OUT" || { diag "missing: $_k"; _b=1; }
	done
	return $_b
}

t_detectors() {
	_d=0
	run "$BIN/kmod_fds" --self-test || _d=1
	rm -f "$TMP/hold.fifo" "$TMP/hold.out"
	mkfifo "$TMP/hold.fifo"
	"$BIN/bpf_churn" hold <"$TMP/hold.fifo" >"$TMP/hold.out" 2>&1 &
	_pid=$!
	exec 4>"$TMP/hold.fifo"
	poll grep -q holding "$TMP/hold.out"
	diag_file "$TMP/hold.out"
	diag "bpf_count settle must report the held map and program:"
	if run "$BIN/bpf_count" settle -t 200 "$BASELINE"; then
		diag "settle missed the objects held by bpf_churn"
		_d=1
	fi
	exec 4>&-
	wait $_pid || _d=1
	settled || _d=1
	return $_d
}

t_load_free_fds() {
	_l=0
	run "$BIN/kmod_fds" -z "$MODULE" || _l=1
	mod_loaded || return 1
	serves || _l=1
	rmmod_retry || _l=1
	settled || _l=1
	not_loaded || { diag "/sys/module/$MODNAME still there"; _l=1; }
	return $_l
}

t_fault() {
	_line=$(echo "$FAULTS" | grep "^$1|")
	_desc=$(echo "$_line" | cut -d'|' -f2)
	_ename=$(echo "$_line" | cut -d'|' -f3)
	_errno=$(echo "$_line" | cut -d'|' -f4)
	_f=0
	for _z in "" -z; do
		if [ -z "$_z" ]; then
			diag "-- fds 0-2 open in the loading task"
		else
			diag "-- fds 0-2 free in the loading task"
		fi
		klog_drain
		# shellcheck disable=SC2086 # $_z is empty or one word
		run "$BIN/kmod_fds" $_z -e "$_ename" \
			-p "fault_step=$1 fault_errno=$_errno" "$FAULT_KO" || _f=1
		klog_expect_one "$MODNAME: $_desc failed: $(pe "$_ename" "$_errno")" || _f=1
		not_loaded || { diag "/sys/module/$MODNAME exists"; _f=1; }
		settled || _f=1
	done
	hook_free || _f=1
	diag "-- the normal build still loads"
	normal_cycle || _f=1
	return $_f
}

t_other_first() {
	_o=0
	run "$BIN/kmod_fds" "$OTHER_KO" || return 1
	diag "other_ops/installed: $(cat $OTHER/installed)"
	[ "$(cat $OTHER/installed)" = Y ] || _o=1
	klog_drain
	run "$BIN/kmod_fds" -z -e EBUSY "$MODULE" || _o=1
	klog_expect_one "$MODNAME: register bpf_preload_ops failed: $(pe EBUSY 16)" || _o=1
	not_loaded || { diag "/sys/module/$MODNAME exists"; _o=1; }
	settled || _o=1
	_i=$(cat $OTHER/installed)
	diag "other_ops/installed after our failed load: $_i"
	[ "$_i" = Y ] || _o=1
	# Their ops, not ours, serve a new mount.
	_c0=$(cat $OTHER/calls)
	no_debug_files "$TMP/probe" || _o=1
	_c1=$(cat $OTHER/calls)
	diag "other_ops preload() calls: $_c0 before the mount, $_c1 after"
	[ "$_c1" -eq $((_c0 + 1)) ] || _o=1
	KEEP_LOADED=other_ops # for other_removed
	return $_o
}

t_other_removed() {
	_o=0
	[ -d /sys/module/other_ops ] || { diag "precondition: other_ops loaded (by other_first)"; return 1; }
	run rmmod other_ops || return 1
	# Ours loads now; while it is in place, other_ops cannot take the hook.
	normal_cycle other_refused || _o=1
	hook_free || _o=1
	return $_o
}

# other_ops fails with EBUSY while ours holds the hook; ours still serves.
other_refused() {
	run "$BIN/kmod_fds" -e EBUSY "$OTHER_KO" && serves
}

t_wrong_kernel() {
	_w=0
	if [ ! -f "$FOREIGN_KO" ]; then
		SKIP_REASON="no build for a kernel of another series in this run ($FOREIGN_KO)"
		return 4
	fi
	_ours=$(modinfo_of "$MODULE" | sed -n 's/^vermagic=//p')
	_theirs=$(modinfo_of "$FOREIGN_KO" | sed -n 's/^vermagic=//p')
	diag "vermagic of this kernel's build: $_ours"
	diag "vermagic of $FOREIGN_KO: $_theirs"
	[ "$_ours" != "$_theirs" ] || { diag "same vermagic: not a foreign module"; return 1; }
	klog_drain
	run "$BIN/kmod_fds" -z -e ENOEXEC "$FOREIGN_KO" || _w=1
	klog_drain
	diag "kernel log:"
	diag_file "$TMP/klog.new"
	# The kernel's own refusal, from whichever of its checks comes first
	# (taint notices aside: a build without symbol versions, 7.x's, taints
	# a kernel with them before the vermagic check refuses it):
	# the size of struct module (6.12 on a 6.1 build), the symbol version
	# of module_layout (CONFIG_MODVERSIONS; 6.1 on a 6.12 build), vermagic.
	grep "$MODNAME" "$TMP/klog.new" |
		grep -v -e 'taints kernel\.$' -e ' - tainting kernel$' -e ': kernel tainted\.$' >"$TMP/klog.ours"
	_got=$(cat "$TMP/klog.ours")
	_k=1
	if [ "$(wc -l <"$TMP/klog.ours")" -eq 1 ]; then
		for _want in \
			"module $MODNAME: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time" \
			"$MODNAME: disagrees about version of symbol module_layout" \
			"$MODNAME: version magic '$_theirs' should be '$_ours'"; do
			[ "$_got" = "$_want" ] && _k=0
		done
	fi
	if [ $_k -eq 0 ]; then
		diag "the kernel refused it: $_got"
	else
		diag "expected exactly one line of the kernel's refusal (struct module size, module_layout version or vermagic)"
		_w=1
	fi
	not_loaded || { diag "/sys/module/$MODNAME exists"; _w=1; }
	settled || _w=1
	hook_free || _w=1
	return $_w
}

# One cycle each, in DIR: read before the unload, or unload before the read.
cycle_read_first() {
	insmod "$MODULE" &&
		mount -t bpf bpf "$1" &&
		debug_ok "$1" &&
		umount "$1" &&
		rmmod $MODNAME
}
cycle_unload_first() {
	insmod "$MODULE" &&
		mount -t bpf bpf "$1" &&
		rmmod $MODNAME &&
		! mod_loaded &&
		debug_ok "$1" &&
		umount "$1"
}

# churn COUNT CYCLE WHAT: COUNT cycles of the function CYCLE, stopping at the
# first that fails; then nothing may be left.
churn() {
	_c=0
	_i=0
	_t0=$(now)
	_d=$TMP/churn.$2
	mkdir -p "$_d"
	while [ "$_i" -lt "$1" ]; do
		_i=$((_i + 1))
		"$2" "$_d" >"$OUT" 2>&1 || {
			diag "cycle $_i failed:"
			diag_file "$OUT"
			_c=1
			break
		}
	done
	diag "$_i cycle(s) of $3 in $(($(now) - _t0)) s"
	is_mounted "$_d" && umount "$_d"
	mod_loaded && rmmod $MODNAME
	settled || _c=1
	not_loaded || { diag "/sys/module/$MODNAME still there"; _c=1; }
	return $_c
}

t_churn() {
	churn "$CHURN" cycle_read_first "insmod, mount, read and check both files, umount, rmmod"
}

t_churn_mounted() {
	churn "$CHURN_MOUNTED" cycle_unload_first "insmod, mount, rmmod, read and check both files, umount"
}

# --- race workers: each runs as `robust.sh _NAME ...`, bounded in rounds and,
# by timeout(1) in t_race, in time. Failures go to stdout (their log).

own_namespace() {
	if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
		echo "not in a mount namespace of its own"
		return 1
	fi
}

# _mounter K ROUNDS: mount, check whatever debug files the mount got, umount.
w_mounter() {
	own_namespace || return 1
	_d=$TMP/race.m$1
	mkdir -p "$_d"
	_i=0 _with=0 _bad=0
	while [ "$_i" -lt "$2" ] && [ ! -e "$TMP/race.stop" ]; do
		_i=$((_i + 1))
		mount -t bpf bpf "$_d" || { echo "mounter $1: mount failed"; return 1; }
		if [ -e "$_d/maps.debug" ] || [ -e "$_d/progs.debug" ]; then
			_with=$((_with + 1))
			echo "$1" >>"$TMP/race.seen"
			rows_ok "$_d" >"$_d.out" 2>&1 ||
				{ echo "mounter $1 round $_i:"; cat "$_d.out"; _bad=1; }
		fi
		umount "$_d" || { echo "mounter $1: umount failed"; return 1; }
	done
	echo "$_i $_with" >"$TMP/race.m$1.stats"
	return $_bad
}

# _reader ROUNDS: one mount made while the module is loaded, read over and
# over across unloads, reloads and object churn.
w_reader() {
	own_namespace || return 1
	_d=$TMP/race.r
	mkdir -p "$_d"
	mount -t bpf bpf "$_d" || { echo "reader: mount failed"; return 1; }
	if ! debug_ok "$_d" >"$_d.out" 2>&1; then
		echo "reader: first read:"
		cat "$_d.out"
		return 1
	fi
	: >"$TMP/race.ready"
	_i=0 _bad=0
	while [ "$_i" -lt "$1" ] && [ ! -e "$TMP/race.stop" ]; do
		_i=$((_i + 1))
		debug_ok "$_d" >"$_d.out" 2>&1 ||
			{ echo "reader round $_i:"; cat "$_d.out"; _bad=1; }
	done
	umount "$_d" || { echo "reader: umount failed"; _bad=1; }
	echo "$_i" >"$TMP/race.r.stats"
	return $_bad
}

seen() { [ "$(wc -l <"$TMP/race.seen")" -gt "$1" ]; }

# _loader ROUNDS: insmod; once a mounter got the files from this load, rmmod,
# retried while a mount holds the module. No mounter getting them within 5 s
# fails the round: the module is not serving.
w_loader() {
	_i=0
	: >>"$TMP/race.seen"
	while [ "$_i" -lt "$1" ]; do
		_i=$((_i + 1))
		_n0=$(wc -l <"$TMP/race.seen")
		insmod "$MODULE" || { echo "loader round $_i: insmod failed"; return 1; }
		if ! poll seen "$_n0"; then
			echo "loader round $_i: no mounter got the debug files within 5 s of insmod"
			rmmod $MODNAME 2>&1
			return 1
		fi
		_p=0
		until rmmod $MODNAME 2>/dev/null; do
			_p=$((_p + 1))
			if [ "$_p" -ge 50 ]; then
				echo "loader round $_i: rmmod kept failing for 5 s:"
				rmmod $MODNAME 2>&1
				return 1
			fi
			sleep 0.1
		done
	done
	echo "$_i" >"$TMP/race.l.stats"
}

t_race() {
	_r=0
	rm -f "$TMP"/race.*
	_t0=$(now)
	# At least two maps at all times: when a read pass sees exactly one
	# map, bpf_iter's seq_num is still 0 at the end, and a map created
	# before the read that should return EOF is printed by a new pass,
	# header included (kernel behaviour, the same with the kernel's own
	# preload module). The held map keeps this race about the module.
	mkfifo "$TMP/race.hold"
	"$BIN/bpf_churn" hold <"$TMP/race.hold" >"$TMP/race.h.log" 2>&1 &
	_holder=$!
	exec 4>"$TMP/race.hold"
	poll grep -q holding "$TMP/race.h.log" || _r=1
	run insmod "$MODULE" || { exec 4>&-; wait $_holder; return 1; }
	timeout 600 unshare -m "$SELF" _reader 100000 >"$TMP/race.r.log" 2>&1 4>&- &
	_reader=$!
	if ! poll test -e "$TMP/race.ready"; then
		diag "reader did not get going:"
		diag_file "$TMP/race.r.log"
		_r=1
	fi
	rmmod_retry || _r=1
	_k=0 _mounters=""
	while [ "$_k" -lt "$RACE_MOUNTERS" ]; do
		_k=$((_k + 1))
		timeout 600 unshare -m "$SELF" _mounter "$_k" 100000 \
			>"$TMP/race.m$_k.log" 2>&1 4>&- &
		_mounters="$_mounters $!"
	done
	timeout 600 "$SELF" _loader "$RACE_LOADS" >"$TMP/race.l.log" 2>&1 4>&- &
	_loader=$!
	timeout 600 "$BIN/bpf_churn" "$RACE_OBJECTS" >"$TMP/race.c.log" 2>&1 4>&- &
	_creator=$!
	wait $_loader || { diag "loader failed (status $?)"; _r=1; }
	wait $_creator || { diag "creator failed (status $?)"; _r=1; }
	: >"$TMP/race.stop"
	for _p in $_mounters; do
		wait "$_p" || { diag "a mounter failed (status $?)"; _r=1; }
	done
	wait $_reader || { diag "reader failed (status $?)"; _r=1; }
	exec 4>&-
	wait $_holder || { diag "holder failed (status $?)"; _r=1; }
	for _l in "$TMP"/race.*.log; do
		[ -s "$_l" ] || continue
		diag "${_l##*/}:"
		diag_file "$_l"
	done
	grep -q '^bpf_churn: created' "$TMP/race.c.log" || _r=1
	# Every worker did its part: the loader all its rounds, each of which
	# a mounter served, the reader and every mounter checked reads.
	_l=$(cat "$TMP/race.l.stats" 2>/dev/null || echo 0)
	diag "loader: $_l insmod/rmmod round(s)"
	[ "$_l" -eq "$RACE_LOADS" ] || { diag "the loader did not do its $RACE_LOADS rounds"; _r=1; }
	_n=$(cat "$TMP/race.r.stats" 2>/dev/null || echo 0)
	diag "reader: $_n checked read(s) of both files from one mount"
	[ "$_n" -gt 0 ] || { diag "the reader checked nothing"; _r=1; }
	_k=0 _sum=0
	while [ "$_k" -lt "$RACE_MOUNTERS" ]; do
		_k=$((_k + 1))
		{ read -r _n _w <"$TMP/race.m$_k.stats"; } 2>/dev/null || { _n=0 _w=0; }
		diag "mounter $_k: $_n mount(s) in its own namespace, $_w with debug files (checked)"
		[ "$_w" -gt 0 ] || { diag "mounter $_k never got the debug files"; _r=1; }
		_sum=$((_sum + _w))
	done
	if [ "$_sum" -lt "$RACE_LOADS" ]; then
		diag "$_sum mount(s) with debug files for $RACE_LOADS loads"
		_r=1
	fi
	diag "race took $(($(now) - _t0)) s"
	if grep -q " $TMP/race" /proc/mounts; then
		diag "a namespace's mount leaked into the initial namespace:"
		grep " $TMP/race" /proc/mounts | sed 's/^/#   /'
		_r=1
	fi
	mod_loaded && { diag "$MODNAME left loaded"; rmmod $MODNAME; _r=1; }
	settled 30000 || _r=1
	return $_r
}

t_dmesg() { klog_clean "$KLOG_BAD"; }

t_end_state() {
	_e=0
	mod_loaded && { diag "$MODNAME loaded"; _e=1; }
	[ -d /sys/module/other_ops ] && { diag "other_ops loaded"; _e=1; }
	no_debug_files "$TMP/probe" || _e=1
	settled || _e=1
	return $_e
}

# "function [arg]|description", in running order.
TESTS="
baseline|baseline: module not loaded nor installed, no debug files, BPF objects recorded
builds|modinfo: only the FAULT_INJECT build has fault_step, fault_errno and the test-build tag
detectors|the checks can fail: kmod_fds sees a new fd 0, bpf_count sees a held map and program
load_free_fds|normal load with fds 0-2 free (as at late_initcall): no fd left in the loading task or pid 1, serves, unloads clean
$(echo "$FAULTS" | grep '|' | while IFS='|' read -r _id _desc _en _n; do
	echo "fault $_id|fault '$_id': insmod fails with -$_en and one line '$_desc failed: -$_en', no fd, prog, map or link left, bpf_preload_ops untouched, normal build loads after"
done)
other_first|someone else's ops first: insmod fails with -EBUSY, their ops stay installed and in use, nothing left
other_removed|after their module is removed ours loads and serves, and theirs cannot take the hook from ours
wrong_kernel|module built for the other kernel: ENOEXEC with the kernel's own message, nothing loaded
churn|$CHURN cycles of insmod, mount, read both files, umount, rmmod: objects back to baseline, module gone
churn_mounted|$CHURN_MOUNTED cycles of insmod, mount, rmmod, read both files, umount
race|race: $RACE_MOUNTERS namespaces mounting, a reader, $RACE_LOADS loads/unloads, $RACE_OBJECTS programs and maps created and destroyed
dmesg|no WARNING, BUG, Oops or Call Trace in the kernel log of the whole suite
end_state|end: module and other_ops unloaded, no debug files, objects back to baseline
"

selected() {
	[ -z "${ROBUST_ONLY:-}" ] && return 0
	for _s in $(echo "$ROBUST_ONLY" | tr , ' '); do
		[ "$_s" = "$1" ] && return 0
	done
	return 1
}

# KTAP_PRE and KTAP_POST: a test that leaves a module behind failed; it is
# removed so that the next one starts from the baseline.
keep_none() { KEEP_LOADED=; }
left_loaded() {
	_lr=$1
	for _m in $MODNAME other_ops; do
		if [ -d "/sys/module/$_m" ] && [ "$_m" != "$KEEP_LOADED" ]; then
			diag "$_m left loaded; removing it"
			rmmod_retry "$_m"
			_lr=1
		fi
	done
	return "$_lr"
}

cmd_check() {
	rm -rf "$TMP"
	mkdir -p "$TMP" || exit 1
	# Only what the suite itself causes counts.
	klog_start
	_list=$(echo "$TESTS" | grep '|' | while IFS='|' read -r _f _d; do
		selected "${_f%% *}" && echo "$_f|$_d"
	done)
	KTAP_PRE=keep_none
	KTAP_POST=left_loaded
	ktap_run "$_list" "kernel $KREL; robustness suite${ROBUST_ONLY:+ (ROBUST_ONLY=$ROBUST_ONLY)}"
	_rc=$?
	mod_loaded && rmmod $MODNAME
	[ -d /sys/module/other_ops ] && rmmod other_ops
	return $_rc
}

case ${1:-} in
check) cmd_check ;;
_mounter) shift; w_mounter "$@" ;;
_reader) shift; w_reader "$@" ;;
_loader) shift; w_loader "$@" ;;
*)
	echo "usage: $0 check" >&2
	exit 2
	;;
esac
