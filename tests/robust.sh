#!/bin/sh
# robust.sh check: the robustness suite (tests/README.md), KTAP, in the test
# VM as root; the ROBUST_* tunables below by vm.sh --append "KEY=value". Every
# wait is a poll with a deadline: a leak shows up as a timeout, never hides
# behind a fixed sleep.

FAULT_KO=/robust/bpf_preload_fault.ko
FOREIGN_KO=/robust/foreign.ko
OTHER=/sys/module/other_ops/parameters
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
SELF=$HERE/$(basename "$0")
BASELINE=$TMP/baseline

# pe NAME NUMBER: what %pe prints for -NUMBER: "-ENOMEM" with
# CONFIG_SYMBOLIC_ERRNAME (Debian's kernels), "-12" without (tinyconfig).
# Exported to the race's workers: under emulation /proc/kallsyms is slow.
: "${SYMBOLIC_ERRNAME:=$(grep -c ' errname$' /proc/kallsyms 2>/dev/null)}"
export SYMBOLIC_ERRNAME
pe() { if [ "${SYMBOLIC_ERRNAME:-0}" -gt 0 ]; then echo "-$1"; else echo "-$2"; fi; }

CHURN=${ROBUST_CHURN:-200}
CHURN_MOUNTED=${ROBUST_CHURN_MOUNTED:-50}
RACE_LOADS=${ROBUST_RACE_LOADS:-50}
RACE_OBJECTS=${ROBUST_RACE_OBJECTS:-1000}

# Fault steps: id|description in the error message|errno name|errno, each
# errno its own. @lockdown: with fault_lockdown=1, only for register, the
# one step after the lockdown line's place in the code.
FAULTS="
btf|load BTF|EIO|5
rodata|create iterator.rodata|ENXIO|6
ids|find vmlinux BTF ids|EFAULT|14
load_map|load dump_bpf_map|ENOMEM|12
load_prog|load dump_bpf_prog|EINVAL|22
attach_map|attach dump_bpf_map|ENOSPC|28
attach_prog|attach dump_bpf_prog|E2BIG|7
link_map|get link of dump_bpf_map|EBADF|9
link_prog|get link of dump_bpf_prog|ENOENT|2
register|register bpf_preload_ops|EAGAIN|11
register@lockdown|register bpf_preload_ops|ERANGE|34
"
LOCKDOWN_LINE="$MODNAME: lockdown: loaded without BTF names; progs.debug shows 15-character names"

# Every object created since the baseline snapshot is gone (bounded wait).
settled() { run "$BIN/bpf_count" settle -t "${1:-10000}" "$BASELINE"; }
serves() { mount_serves "$TMP/serve"; }
# bpf_preload_ops is NULL: a mount gets no files, and other_ops can take it.
hook_unused() { no_debug_files "$TMP/probe" && hook_free; }

# load_cycle CHECK [-z]: the normal build loads (fd tables checked, -z
# with fds 0-2 free), passes CHECK (serves, say), unloads, leaves nothing.
load_cycle() {
	run "$BIN/kmod_fds" ${2:+"$2"} "$MODULE" || fail
	mod_loaded || { fail; return; }
	"$1" || fail
	rmmod_retry || fail
	gone
}
gone() {
	not_loaded || fail "/sys/module/$MODNAME exists"
	settled || fail
}

# modinfo_of FILE: the module's .modinfo entries ("key=value"), read from
# the file itself (busybox modinfo wants a modules.dep).
modinfo_of() {
	tr '\0' '\n' <"$1" |
		grep -E '^(vermagic|license|description|depends|name|parm|parmtype|fault_inject)='
}

t_baseline() {
	not_loaded || fail "$MODNAME is loaded already"
	! installed_copies | grep -q . ||
		fail "$MODNAME is installed under /lib/modules: mounts would autoload it"
	for _f in "$MODULE" "$FAULT_KO" "$OTHER_KO"; do
		[ -f "$_f" ] || fail "$_f missing"
	done
	no_debug_files "$TMP/probe" || fail
	run "$BIN/bpf_count" list
	run "$BIN/bpf_count" snap "$BASELINE"
}

t_builds() {
	diag "$MODULE:"
	modinfo_of "$MODULE" | tee "$OUT" | diag_file
	! grep -Eq '^(parm|parmtype)=fault_|^fault_inject=' "$OUT" ||
		fail "the normal build has fault injection"
	diag "$FAULT_KO:"
	modinfo_of "$FAULT_KO" | tee "$OUT" | diag_file
	for _k in 'fault_inject=test build, not for production' \
		'parmtype=fault_step:charp' 'parmtype=fault_errno:int' 'parmtype=fault_lockdown:bool'; do
		grep -Fxq "$_k" "$OUT" || fail "missing: $_k"
	done
}

t_detectors() {
	run "$BIN/kmod_fds" --self-test || fail
	hold_start || fail
	diag "bpf_count settle must report the held map and program:"
	! run "$BIN/bpf_count" settle -t 200 "$BASELINE" ||
		fail "settle missed the objects held by bpf_churn"
	hold_stop || fail
	settled
}

t_load_free_fds() { load_cycle serves -z; }

# t_fault STEP: STEP fails with its own errno, fds 0-2 open, then free.
t_fault() {
	IFS='|' read -r _id _desc _ename _errno <<-EOF
		$(echo "$FAULTS" | grep "^$1|")
	EOF
	_params="fault_step=${_id%@lockdown} fault_errno=$_errno"
	[ "$_id" = "${_id%@lockdown}" ] || _params="$_params fault_lockdown=1"
	for _w in open: free:-z; do
		_z=${_w#*:}
		diag "-- fds 0-2 ${_w%:*} in the loading task"
		klog_drain
		# shellcheck disable=SC2086 # $_z is empty or one word
		run "$BIN/kmod_fds" $_z -e "$_ename" -p "$_params" "$FAULT_KO" || fail
		klog_expect_one "$MODNAME: $_desc failed: $(pe "$_ename" "$_errno")" || fail
		gone
	done
	hook_unused || fail
	diag "-- the normal build still loads"
	load_cycle serves
}

# A fault_errno that is no errno (0 or below would make the failed init a
# success to the loader) is refused with a line naming it, before init runs.
t_fault_errno() {
	for _e in 0 -12 4096; do
		klog_drain
		run "$BIN/kmod_fds" -e EINVAL -p "fault_step=btf fault_errno=$_e" "$FAULT_KO" || fail
		klog_drain
		grep -Fxq "$MODNAME: fault_errno=$_e: not an errno (1..4095)" "$TMP/klog.new" ||
			fail "fault_errno=$_e: no line naming it" "$TMP/klog.new"
		! grep -q 'load BTF failed' "$TMP/klog.new" || fail "fault_errno=$_e: init ran"
		gone
	done
}

# As under lockdown=confidentiality: progs.debug shows only the kernel's 15
# characters of a name BTF has in full.
t_lockdown() {
	klog_drain
	run "$BIN/kmod_fds" -z -p fault_lockdown=1 "$FAULT_KO" || fail
	klog_expect_one "$LOCKDOWN_LINE" || fail
	{ mount_at "$TMP/serve" && run debug_ok "$TMP/serve" &&
		run "$BIN/long_name" -c "$TMP/serve/progs.debug"; } || fail
	run umount "$TMP/serve"
	rmmod_retry || fail
	gone
}

other_installed() { run cat $OTHER/installed && grep -qx Y "$OUT"; }

t_other_first() {
	run "$BIN/kmod_fds" "$OTHER_KO" || return 1
	other_installed || fail
	klog_drain
	run "$BIN/kmod_fds" -z -e EBUSY "$MODULE" || fail
	klog_expect_one "$MODNAME: register bpf_preload_ops failed: $(pe EBUSY 16)" || fail
	gone
	other_installed || fail
	# Their ops, not ours, serve a new mount.
	_c0=$(cat $OTHER/calls)
	no_debug_files "$TMP/probe" || fail
	_c1=$(cat $OTHER/calls)
	diag "other_ops preload() calls: $_c0 before the mount, $_c1 after"
	[ "$_c1" -eq $((_c0 + 1)) ] || fail
	run rmmod other_ops || fail
}

# hook_free: other_ops takes the hook and is removed; ours loads now, and
# while it is in place other_ops cannot take the hook.
t_other_removed() {
	hook_free || return 1
	load_cycle other_refused
	hook_unused
}

# other_ops fails with EBUSY while ours holds the hook; ours still serves.
other_refused() { run "$BIN/kmod_fds" -e EBUSY "$OTHER_KO" && serves; }

t_wrong_kernel() {
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
	run "$BIN/kmod_fds" -z -e ENOEXEC "$FOREIGN_KO" || fail
	# The kernel's own refusal, from whichever of its checks comes first:
	# the size of struct module (6.12 on a 6.1 build), the symbol version
	# of module_layout (6.1 on a 6.12 build), vermagic.
	klog_expect_one "module $MODNAME: .gnu.linkonce.this_module section size must match the\
 kernel's built struct module size at run time" \
		"$MODNAME: disagrees about version of symbol module_layout" \
		"$MODNAME: version magic '$_theirs' should be '$_ours'" || fail
	gone
	hook_unused
}

# cycle DIR read|unload: insmod, mount at DIR, then read both files before
# the unload or unload before the read, umount.
cycle() {
	insmod "$MODULE" && mount -t bpf bpf "$1" || return 1
	if [ "$2" = read ]; then
		debug_ok "$1" && umount "$1" && rmmod $MODNAME
	else
		rmmod $MODNAME && ! mod_loaded && debug_ok "$1" && umount "$1"
	fi
}

# t_churn COUNT read|unload: COUNT cycles, stopping at the first that
# fails; then nothing may be left.
t_churn() {
	_i=0
	_t0=$(now)
	_d=$TMP/churn.$2
	mkdir -p "$_d"
	for _i in $(seq "$1"); do
		cycle "$_d" "$2" >"$OUT" 2>&1 && continue
		fail "cycle $_i failed:" "$OUT"
		break
	done
	diag "$_i cycle(s), $2 first, in $(($(now) - _t0)) s"
	! is_mounted "$_d" || umount "$_d"
	not_loaded || rmmod $MODNAME
	gone
}

# Race workers: each runs as `robust.sh _NAME ...`, bounded in rounds and,
# by timeout(1) in t_race, in time; the reader and mounters in a mount
# namespace of their own. Failures go to stdout (their log).
own_namespace() {
	[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] ||
		{ echo "not in a mount namespace of its own"; return 1; }
}

# _mounter K: once in its namespace, says so (race.mK.ready); then mount,
# check whatever debug files the mount got, umount.
_mounter() { : >"$TMP/race.m$1.ready" && mount_loop "$TMP/race.m$1" 100000 rows_ok; }

# _reader: one mount made while the module is loaded, read over and over
# across unloads, reloads and object churn; going (race.ready) once its
# first read passed.
_reader() {
	_d=$TMP/race.r
	mkdir -p "$_d"
	mount -t bpf bpf "$_d" || { echo "reader: mount failed"; return 1; }
	_i=0 _bad=0
	while [ "$_i" -lt 100000 ] && [ ! -e "$TMP/stop" ]; do
		_i=$((_i + 1))
		debug_ok "$_d" >"$_d.out" 2>&1 || { echo "reader round $_i:"; cat "$_d.out"; _bad=1; }
		[ "$_i" -gt 1 ] || [ "$_bad" = 1 ] || : >"$TMP/race.ready"
	done
	umount "$_d" || { echo "reader: umount failed"; _bad=1; }
	echo "$_i" >"$_d.rounds"
	return $_bad
}

# Each mounter's number of mounts with debug files, as "N1 N2 N3".
seen_counts() {
	for _k in 1 2 3; do printf '%s ' "$(lines "$TMP/race.m$_k.seen")"; done
}

# seen_by_all N1 N2 N3: every mounter has more mounts with debug files.
seen_by_all() {
	[ "$(lines "$TMP/race.m1.seen")" -gt "$1" ] && [ "$(lines "$TMP/race.m2.seen")" -gt "$2" ] &&
		[ "$(lines "$TMP/race.m3.seen")" -gt "$3" ]
}

# _loader ROUNDS: insmod; once every mounter got the files from this load,
# rmmod, retried while a mount holds the module. A mounter not getting them
# within 5 s fails the round: the module does not serve every namespace.
_loader() {
	_i=0
	for _i in $(seq "$1"); do
		_n0=$(seen_counts)
		insmod "$MODULE" || { echo "loader round $_i: insmod failed"; return 1; }
		# shellcheck disable=SC2086 # three numbers
		if poll seen_by_all $_n0; then
			poll rmmod $MODNAME 2>/dev/null && continue
			echo "loader round $_i: rmmod kept failing for 5 s:"
		else
			echo "loader round $_i: not every mounter got the debug files within 5 s"
			echo "mounts with debug files before insmod: $_n0, after: $(seen_counts)"
		fi
		rmmod $MODNAME 2>&1
		return 1
	done
	echo "$_i" >"$TMP/race.l.rounds"
}

rounds_of() { cat "$1" 2>/dev/null || echo 0; }

t_race() {
	rm -rf "$TMP"/race.* "$TMP/stop"
	_t0=$(now)
	# At least two maps at all times: a read pass that sees exactly one
	# map ends with bpf_iter's seq_num 0, and a map created meanwhile is
	# printed by a new pass, header included (the kernel's behaviour, with
	# its own C module too). The held map keeps this race about the module.
	hold_start || fail
	run insmod "$MODULE" || { hold_stop; return 1; }
	timeout 600 unshare -m "$SELF" _reader >"$TMP/race.r.log" 2>&1 4>&- &
	_others=$!
	poll test -e "$TMP/race.ready" || fail "reader did not get going:" "$TMP/race.r.log"
	rmmod_retry || fail
	for _k in 1 2 3; do
		timeout 600 unshare -m "$SELF" _mounter "$_k" >"$TMP/race.m$_k.log" 2>&1 4>&- &
		_others="$_others $!"
	done
	poll test -e "$TMP/race.m1.ready" -a -e "$TMP/race.m2.ready" -a -e "$TMP/race.m3.ready" ||
		{ fail "not every mounter got going"; diag_logs "$TMP"/race.m*.log; }
	timeout 600 "$SELF" _loader "$RACE_LOADS" >"$TMP/race.l.log" 2>&1 4>&- &
	_loader_pid=$!
	timeout 600 "$BIN/bpf_churn" "$RACE_OBJECTS" >"$TMP/race.c.log" 2>&1 4>&- &
	_creator_pid=$!
	wait $_loader_pid || fail "loader failed (status $?)"
	wait $_creator_pid || fail "creator failed (status $?)"
	: >"$TMP/stop"
	for _p in $_others; do
		wait "$_p" || fail "the reader or a mounter failed (status $?)"
	done
	hold_stop || fail
	diag_logs "$TMP"/race.*.log
	grep -q '^bpf_churn: created' "$TMP/race.c.log" || fail
	# Every worker did its part: the loader all its rounds, each of which
	# every mounter saw, the reader and every mounter checked reads.
	_l=$(rounds_of "$TMP/race.l.rounds")
	diag "loader: $_l insmod/rmmod round(s)"
	[ "$_l" -eq "$RACE_LOADS" ] || fail "the loader did not do its $RACE_LOADS rounds"
	_n=$(rounds_of "$TMP/race.r.rounds")
	diag "reader: $_n checked read(s) of both files from one mount"
	[ "$_n" -gt 0 ] || fail "the reader checked nothing"
	for _k in 1 2 3; do
		_n=$(rounds_of "$TMP/race.m$_k.rounds")
		_w=$(lines "$TMP/race.m$_k.seen")
		diag "mounter $_k: $_n mount(s) in its own namespace, $_w with debug files (checked)"
		[ "$_w" -ge "$RACE_LOADS" ] ||
			fail "mounter $_k: $_w mount(s) with debug files for $RACE_LOADS loads"
	done
	diag "race took $(($(now) - _t0)) s"
	! grep " $TMP/race" /proc/mounts >"$OUT" ||
		fail "a namespace's mount leaked into the initial namespace:" "$OUT"
	not_loaded || { fail "$MODNAME left loaded"; rmmod $MODNAME; }
	settled 30000
}

t_end_state() {
	not_loaded || fail "$MODNAME loaded"
	[ ! -d /sys/module/other_ops ] || fail "other_ops loaded"
	no_debug_files "$TMP/probe" || fail
	settled
}

# "function [arg]|description", in running order.
TESTS="
baseline|baseline: module not loaded nor installed, no debug files, BPF objects recorded
builds|modinfo: only the FAULT_INJECT build has fault_step, fault_errno and the test-build tag
detectors|the checks can fail: kmod_fds sees a new fd 0, bpf_count sees a held map and program
load_free_fds|normal load with fds 0-2 free (as at late_initcall): no fd left in the loading task or pid 1, serves, unloads clean
$(echo "$FAULTS" | grep '|' | while IFS='|' read -r _id _desc _en _n; do
	echo "fault $_id|fault '$_id': insmod fails with -$_en and one line" \
		"'$_desc failed: -$_en', no fd, prog, map or link left, bpf_preload_ops" \
		"untouched, normal build loads after"
done)
lockdown|fault_lockdown=1 (as under lockdown=confidentiality), fds 0-2 free: loads, one line saying so, serves valid files, progs.debug without BTF names, unloads clean
fault_errno|fault_errno 0, -12 or 4096: insmod fails with EINVAL and a line naming it, before init runs, nothing left
other_first|someone else's ops first: insmod fails with -EBUSY, their ops stay installed and in use, nothing left
other_removed|after their module is removed ours loads and serves, and theirs cannot take the hook from ours
wrong_kernel|module built for the other kernel: ENOEXEC with the kernel's own message, nothing loaded
churn $CHURN read|$CHURN cycles of insmod, mount, read both files, umount, rmmod: objects back to baseline, module gone
churn $CHURN_MOUNTED unload|$CHURN_MOUNTED cycles of insmod, mount, rmmod, read both files, umount
race|race: 3 namespaces mounting, a reader, $RACE_LOADS loads/unloads, $RACE_OBJECTS programs and maps created and destroyed
dmesg|no WARNING, BUG, Oops or Call Trace in the kernel log of the whole suite
end_state|end: module and other_ops unloaded, no debug files, objects back to baseline
"

# KTAP_POST: a test that leaves a module behind failed; the module is
# removed for the next test.
left_loaded() {
	_lr=$1
	for _m in $MODNAME other_ops; do
		[ -d "/sys/module/$_m" ] || continue
		diag "$_m left loaded; removing it"
		rmmod_retry "$_m"
		_lr=1
	done
	return "$_lr"
}

case ${1:-} in
check)
	KTAP_POST=left_loaded
	ktap_suite "$TESTS" "kernel $KREL; robustness suite"
	;;
_mounter | _reader) own_namespace && "$@" ;;
_loader) "$@" ;;
*) usage check ;;
esac
