# shellcheck shell=sh
# The helpers every in-VM suite shares (run.sh, robust.sh, debug.sh,
# builtin.sh, byte_order.sh, boot-check.sh), and their KTAP runner. Sourced,
# after the suite has set TMP (its scratch directory), as
#
#   . "$(dirname "$0")/lib/ktap.sh"
#
# so the VM holds this file as /tests/lib/ktap.sh next to the suites. Busybox
# sh; every function's locals start with an underscore.
#
# The runner: ktap_run LIST [DIAG], LIST one test per line as
# "NAME [ARG]|description", runs t_NAME [ARG] for each and prints
#
#   TAP version 13
#   1..N
#   ok 1 description
#   not ok 2 description
#   ok 3 description # SKIP reason
#   # Totals: pass:P fail:F xfail:0 xpass:0 skip:S error:0
#
# A test function returns 0 (pass), 4 (skip, SKIP_REASON says why) or
# anything else (fail). KTAP_PRE, if set, names a function called with the
# test's NAME before it runs: 4 skips the test (SKIP_REASON set), 0 runs it.
# KTAP_POST, if set, names a function called with the test's status after
# it ran, whose own status replaces it. The plan is checked at the end: if
# the plan's N is not ok + not ok + skip, or the shell exits in the middle
# of the suite (an `exit`, an unset variable under `set -u`), the Totals
# say so and count one more failure.

MODNAME=bpf_preload
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/bin
OUT=$TMP/out

# Kernel log lines that are bugs, whoever caused them.
KLOG_BAD='(^|[^A-Za-z])(WARNING|BUG|Oops)([^A-Za-z]|$)|Call Trace|KASAN|suspected memory leak'

# --- output ---------------------------------------------------------------------

diag() { printf '# %s\n' "$*"; }

# diag_file [-e] FILE: a file's lines as diagnostics; -e ends each line with
# `|` so that trailing spaces stay visible.
diag_file() {
	if [ "$1" = -e ]; then
		sed -e 's/^/#   /' -e 's/$/|/' "$2"
	else
		sed -e 's/^/#   /' "$1"
	fi
}

# run CMD...: run it, the command and its output (stdout and stderr) as
# diagnostics; its exit status.
run() {
	diag "\$ $*"
	"$@" >"$OUT" 2>&1
	_run_rc=$?
	diag_file "$OUT"
	[ "$_run_rc" -eq 0 ] || diag "(exit status $_run_rc)"
	return "$_run_rc"
}

# --- waiting --------------------------------------------------------------------

now() { cut -d. -f1 /proc/uptime; }

# poll CMD...: every 0.1 s until it succeeds, for at most 5 s.
poll() {
	_poll_n=0
	while [ "$_poll_n" -lt 50 ]; do
		"$@" && return 0
		sleep 0.1
		_poll_n=$((_poll_n + 1))
	done
	"$@"
}

# --- module, mounts, objects ----------------------------------------------------

mod_loaded() { [ -d /sys/module/$MODNAME ]; }
not_loaded() { ! mod_loaded; }

# is_mounted DIR: a bpffs is mounted at DIR. bpffs_mounted: one is anywhere.
is_mounted() { grep -q " $1 bpf " /proc/mounts; }
bpffs_mounted() { grep -q ' bpf ' /proc/mounts; }

# Our iterator programs and links, as bpftool reports them.
iter_progs_present() {
	bpftool prog show 2>/dev/null | grep -Eq 'name dump_bpf_(map|prog) '
}
iter_links_present() {
	bpftool link show 2>/dev/null | grep -Eq '^[0-9]+: iter '
}
iterators_gone() { ! iter_progs_present && ! iter_links_present; }

# bpftool_has OBJECT REGEX...: `bpftool OBJECT show` has a line matching
# each REGEX.
bpftool_has() {
	run bpftool "$1" show || return 1
	shift
	_bh=0
	for _re in "$@"; do
		grep -Eq "$_re" "$OUT" || { diag "no line matches $_re"; _bh=1; }
	done
	return $_bh
}

# bpftool lists both iterator programs, as tracing programs.
iter_progs_ok() {
	bpftool_has prog "^[0-9]+: tracing +name dump_bpf_map " \
		"^[0-9]+: tracing +name dump_bpf_prog "
}

# bpftool lists exactly two iter links, on bpf_map and bpf_prog.
iter_links_ok() {
	bpftool_has link "^[0-9]+: iter .*target_name bpf_map( |\$)" \
		"^[0-9]+: iter .*target_name bpf_prog( |\$)" || return 1
	_n=$(grep -Ec '^[0-9]+: iter ' "$OUT")
	diag "$_n iter link(s)"
	[ "$_n" -eq 2 ] || { diag "expected 2 iter links"; return 1; }
}

# Wait (5 s at most) until no dump_bpf_* program and no iter link is left.
wait_iterators_gone() {
	poll iterators_gone && return 0
	diag "iterator programs or links still there after 5 s:"
	run bpftool prog show
	run bpftool link show
	return 1
}

# --- the debug files --------------------------------------------------------------

# The maps.debug layout the module must print on this kernel, "count" (with
# cur_entries) or "plain": debug_check derives it (t::maps_variant() in
# common.hpp), the one place that knows the rule.
maps_variant() { "$BIN/debug_check" --expected-variant; }

# files_ok DIR: maps.debug and progs.debug are regular files of root's,
# mode 0400 (-r--------).
files_ok() {
	_fo=0
	for _f in maps.debug progs.debug; do
		if [ ! -f "$1/$_f" ]; then
			diag "$1/$_f: not a regular file"
			_fo=1
			continue
		fi
		_m=$(stat -c '%A %u:%g' "$1/$_f")
		diag "$_f: $_m"
		[ "$_m" = "-r-------- 0:0" ] || { diag "$_f: expected -r-------- 0:0"; _fo=1; }
	done
	run ls -la "$1"
	return $_fo
}

# debug_ok DIR: both files there, header of this kernel's variant and every
# row in the kernel's format, our own map and programs listed.
debug_ok() {
	"$BIN/debug_check" --map iterator.rodata maps "$1/maps.debug" &&
		"$BIN/debug_check" \
			--prog dump_bpf_map:bpf_iter_bpf_map \
			--prog dump_bpf_prog:bpf_iter_bpf_prog \
			progs "$1/progs.debug"
}

# rows_ok DIR: the same for whatever objects exist at the time.
rows_ok() {
	"$BIN/debug_check" maps "$1/maps.debug" &&
		"$BIN/debug_check" progs "$1/progs.debug"
}

# mount_serves DIR: a fresh bpffs mount at DIR gets valid debug files; it is
# unmounted again.
mount_serves() {
	mkdir -p "$1"
	run mount -t bpf bpf "$1" || return 1
	_ms=0
	run debug_ok "$1" || _ms=1
	run umount "$1" || _ms=1
	return $_ms
}

# no_debug_files DIR: a fresh bpffs mount at DIR works and has neither file
# (bpf_preload_ops is NULL and nothing can be autoloaded, or someone else's
# ops declined); it is unmounted again. A mount that fails is a failure:
# it proves nothing about the files.
no_debug_files() {
	mkdir -p "$1"
	run mount -t bpf bpf "$1" || { diag "the bpffs mount failed"; return 1; }
	_nd=0
	if [ -e "$1/maps.debug" ] || [ -e "$1/progs.debug" ]; then
		diag "a new bpffs mount has debug files:"
		run ls -la "$1"
		_nd=1
	fi
	run umount "$1" || _nd=1
	return $_nd
}

# --- kernel log -------------------------------------------------------------------

# klog_start: what the kernel logged so far is not the suite's; it goes to
# $TMP/klog.before and the log is cleared.
klog_start() {
	dmesg -c >"$TMP/klog.before" 2>&1
	: >"$TMP/klog.all"
}

# klog_drain: the lines logged since the last drain, timestamps stripped,
# into $TMP/klog.new; all of them are kept in $TMP/klog.all.
klog_drain() {
	dmesg -c >"$TMP/klog.raw" 2>&1
	cat "$TMP/klog.raw" >>"$TMP/klog.all"
	sed 's/^\[[ 0-9.]*\] //' "$TMP/klog.raw" >"$TMP/klog.new"
}

# klog_clean [REGEX]: no line matching REGEX (default KLOG_BAD) was logged
# since klog_start; shows what the suite logged about bpf.
klog_clean() {
	_kc=${1:-$KLOG_BAD}
	klog_drain
	if grep -Eq "$_kc" "$TMP/klog.before" 2>/dev/null; then
		diag "in the kernel log before the suite (not counted):"
		grep -E "$_kc" "$TMP/klog.before" | sed 's/^/#   /'
	fi
	diag "kernel messages about bpf during the suite:"
	grep -iE "$MODNAME|bpf|other_ops" "$TMP/klog.all" | sort | uniq -c | sed 's/^/#   /'
	if grep -Eq "$_kc" "$TMP/klog.all"; then
		diag "offending lines:"
		grep -E "$_kc" "$TMP/klog.all" | sed 's/^/#   /'
		return 1
	fi
}

# --- KTAP -------------------------------------------------------------------------

# ktap_result STATUS DESCRIPTION: one result line, counted.
ktap_result() {
	KTAP_NUM=$((KTAP_NUM + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $KTAP_NUM $2"
		KTAP_PASS=$((KTAP_PASS + 1))
	elif [ "$1" -eq 4 ]; then
		echo "ok $KTAP_NUM $2 # SKIP ${SKIP_REASON:-no reason given}"
		KTAP_SKIP=$((KTAP_SKIP + 1))
	else
		echo "not ok $KTAP_NUM $2"
		KTAP_FAIL=$((KTAP_FAIL + 1))
	fi
}

# ktap_totals PLAN: the Totals line; a plan that is not what ran, or an
# empty one, is one more failure. Status 0 only if nothing failed.
ktap_totals() {
	trap - EXIT
	_kt_ran=$((KTAP_PASS + KTAP_FAIL + KTAP_SKIP))
	_kt_fail=$KTAP_FAIL
	if [ "$_kt_ran" -ne "$1" ]; then
		diag "plan mismatch: planned $1, ran $_kt_ran"
		_kt_fail=$((_kt_fail + 1))
	elif [ "$1" -eq 0 ]; then
		diag "empty plan: no test ran"
		_kt_fail=$((_kt_fail + 1))
	fi
	echo "# Totals: pass:$KTAP_PASS fail:$_kt_fail xfail:0 xpass:0 skip:$KTAP_SKIP error:0"
	[ "$_kt_fail" -eq 0 ]
}

# The shell exits while the runner is in the middle of the suite.
ktap_aborted() {
	_kt_rc=$?
	diag "the suite exited (status $_kt_rc) after $KTAP_NUM of $_kt_plan test(s)"
	ktap_totals "$_kt_plan"
	exit 1
}

# ktap_run LIST [DIAG]: run the tests of LIST (see the top of this file);
# DIAG is a diagnostic line printed after the plan. Status 0 only if every
# test passed or was skipped and the plan held.
ktap_run() {
	_kt_list=$(printf '%s\n' "$1" | grep '|')
	_kt_plan=$(printf '%s\n' "$_kt_list" | grep -c '|')
	echo "TAP version 13"
	echo "1..$_kt_plan"
	[ -z "${2:-}" ] || diag "$2"
	KTAP_NUM=0 KTAP_PASS=0 KTAP_FAIL=0 KTAP_SKIP=0
	trap ktap_aborted EXIT
	# Not a pipe: the counters must survive the loop.
	IFS='
'
	for _kt_t in $_kt_list; do
		IFS=' 	
'
		_kt_name=${_kt_t%%|*}
		SKIP_REASON=
		_kt_rc=0
		if [ -n "${KTAP_PRE:-}" ]; then
			"$KTAP_PRE" "${_kt_name%% *}"
			_kt_rc=$?
		fi
		if [ "$_kt_rc" -eq 0 ]; then
			_kt_t0=$(now)
			# shellcheck disable=SC2086 # function name and argument
			t_$_kt_name
			_kt_rc=$?
			if [ -n "${KTAP_POST:-}" ]; then
				"$KTAP_POST" "$_kt_rc"
				_kt_rc=$?
			fi
			diag "($(($(now) - _kt_t0)) s)"
		fi
		ktap_result "$_kt_rc" "${_kt_t#*|}"
	done
	IFS=' 	
'
	ktap_totals "$_kt_plan"
}
