# shellcheck shell=sh
# The helpers and the KTAP runner every in-VM suite shares (tests/README.md).
# Sourced as `. "$(dirname "$0")/lib/ktap.sh"`; TMP, the suite's scratch
# directory, is named after the script. Busybox sh; locals start with `_`.
set -u # for every suite

MODNAME=bpf_preload
# shellcheck disable=SC2034 # used by the suites
MODULE=${BPF_PRELOAD_KO:-/bpf_preload.ko}
OTHER_KO=/robust/other_ops.ko
MNT=/sys/fs/bpf
KREL=$(uname -r)
TMP=${TMPDIR:-/tmp}/bpf_preload_$(basename "$0" .sh)
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/bin
OUT=$TMP/out
# Kernel log lines that are bugs, whoever caused them; a suite may widen it.
KLOG_BAD='(^|[^A-Za-z])(WARNING|BUG|Oops)([^A-Za-z]|$)|Call Trace|KASAN|suspected memory leak'

diag() { printf '# %s\n' "$*"; }

# diag_file [-e] [FILE]: FILE's lines (stdin's without one) as diagnostics;
# -e ends each with `|` so that trailing spaces stay visible.
diag_file() {
	_df='s/^/#   /'
	[ "${1:-}" != -e ] || { _df="$_df;s/\$/|/"; shift; }
	sed -e "$_df" ${1:+"$1"}
}

diag_logs() { # diag_logs FILE...: each one not empty, named
	for _dl in "$@"; do
		[ ! -s "$_dl" ] || { diag "${_dl##*/}:" && diag_file "$_dl"; }
	done
}

# skip REASON: status 4, for which ktap_suite reports the test skipped.
skip() {
	SKIP_REASON=$1
	return 4
}

# run CMD...: the command and its output as diagnostics; its exit status.
run() {
	diag "\$ $*"
	"$@" >"$OUT" 2>&1
	_run_rc=$?
	diag_file "$OUT"
	[ "$_run_rc" -eq 0 ] || diag "(exit status $_run_rc)"
	return "$_run_rc"
}

# fail [MESSAGE [FILE]]: the running test fails; MESSAGE and FILE's lines as
# diagnostics. Status 0, so `CHECK || fail` goes on.
fail() {
	[ $# -eq 0 ] || diag "$1"
	[ $# -lt 2 ] || diag_file "$2"
	KTAP_FAILED=1
}

same() { # same A B WHAT: files A and B are the same; else WHAT and a diff
	cmp -s "$1" "$2" && return 0
	diag "$3:"
	diff -u "$1" "$2" | diag_file -e
	return 1
}

lines() { cat "$@" 2>/dev/null | wc -l; }
now() { cut -d. -f1 /proc/uptime; }

poll() { # poll CMD...: every 0.1 s until it succeeds, for at most 5 s
	for _poll_n in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

mod_loaded() { [ -d /sys/module/$MODNAME ]; }
not_loaded() { ! mod_loaded; }
installed_copies() { find "/lib/modules/$KREL" -name "$MODNAME.ko*" 2>/dev/null; }
unload() { run rmmod $MODNAME && wait_iterators_gone; }
is_mounted() { grep -q " ${1:-.*} bpf " /proc/mounts; } # is_mounted [DIR]: at DIR or anywhere
mount_at() { mkdir -p "$1" && run mount -t bpf bpf "$1"; }
has_files() { [ -e "$1/maps.debug" ] || [ -e "$1/progs.debug" ]; }

# loaded_ok WHEN: /sys/module/$MODNAME exists (else "missing WHEN"); its initstate.
loaded_ok() {
	mod_loaded || { diag "/sys/module/$MODNAME missing $1"; return 1; }
	diag "initstate: $(cat /sys/module/$MODNAME/initstate 2>&1)"
}

unloaded_first() { # the precondition of a test that loads the module itself
	not_loaded || { diag "precondition: $MODNAME not loaded"; return 1; }
}

# rmmod_retry [NAME]: retried for up to 5 s while a mount holds the module.
rmmod_retry() { poll rmmod "${1:-$MODNAME}" 2>/dev/null || run rmmod "${1:-$MODNAME}"; }

iterators_gone() {
	! bpftool prog show 2>/dev/null | grep -Eq 'name dump_bpf_(map|prog) ' &&
		! bpftool link show 2>/dev/null | grep -Eq '^[0-9]+: iter '
}
wait_iterators_gone() {
	poll iterators_gone && return 0
	diag "iterator programs or links still there after 5 s:"
	run bpftool prog show
	run bpftool link show
	return 1
}

# bpftool shows our two programs, and exactly two iter links, of bpf_map
# and bpf_prog (else the test fails).
iter_progs_ok() {
	run bpftool prog show || return 1
	for _o in map prog; do
		grep -Eq "^[0-9]+: tracing +name dump_bpf_$_o " "$OUT" || fail "no program dump_bpf_$_o"
	done
}
iter_links_ok() {
	run bpftool link show || return 1
	for _o in map prog; do
		grep -Eq "^[0-9]+: iter .*target_name bpf_$_o( |\$)" "$OUT" || fail "no iter link of bpf_$_o"
	done
	_n=$(grep -Ec '^[0-9]+: iter ' "$OUT")
	diag "$_n iter link(s)"
	[ "$_n" -eq 2 ] || { diag "expected 2 iter links"; return 1; }
}

# hold_start: `bpf_churn hold` keeps a map and a program of its own alive
# until hold_stop (its status); workers started meanwhile close fd 4.
hold_start() {
	rm -f "$TMP/hold.in" "$TMP/hold.out"
	mkfifo "$TMP/hold.in" || return 1
	"$BIN/bpf_churn" hold <"$TMP/hold.in" >"$TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 4>"$TMP/hold.in"
	poll grep -q holding "$TMP/hold.out" ||
		{ fail "bpf_churn hold did not start:" "$TMP/hold.out"; return 1; }
}
hold_stop() {
	exec 4>&-
	wait "$HOLD_PID" || { diag "bpf_churn hold failed"; return 1; }
}

# hook_free: bpf_preload_ops is NULL: other_ops, which only loads while the
# hook is free, loads and sees its ops installed; it is removed again.
hook_free() {
	run "$BIN/kmod_fds" "$OTHER_KO" || return 1
	_h=$(cat /sys/module/other_ops/parameters/installed)
	run rmmod other_ops || return 1
	[ "$_h" = Y ] || { diag "other_ops/installed: $_h"; return 1; }
	diag "bpf_preload_ops was NULL: other_ops could take it"
}

# insmod_refused KO: insmod KO fails (if it loads, it is removed again) and
# leaves no module; the kernel's lines since, in $TMP/klog.new, as diagnostics.
insmod_refused() {
	klog_drain
	if run insmod "$1"; then
		fail "insmod $1 succeeded; expected a failure"
		rmmod_retry $MODNAME
	fi
	klog_drain
	diag "kernel log:"
	diag_file "$TMP/klog.new"
	not_loaded || fail "/sys/module/$MODNAME exists after the failure"
}

# files_ok DIR: both debug files are root's -r-------- regular files, or fail.
files_ok() {
	for _f in maps.debug progs.debug; do
		[ -f "$1/$_f" ] || { fail "$1/$_f: not a regular file"; continue; }
		_m=$(stat -c '%A %u:%g' "$1/$_f")
		diag "$_f: $_m"
		[ "$_m" = "-r-------- 0:0" ] || fail "$_f: expected -r-------- 0:0"
	done
	run ls -la "$1"
}

# debug_ok DIR: both files valid for this kernel (debug_check), our map and
# programs listed. rows_ok DIR: valid, whatever objects exist.
debug_ok() {
	"$BIN/debug_check" --map iterator.rodata maps "$1/maps.debug" &&
		"$BIN/debug_check" --prog dump_bpf_map:bpf_iter_bpf_map \
			--prog dump_bpf_prog:bpf_iter_bpf_prog progs "$1/progs.debug"
}
rows_ok() { "$BIN/debug_check" maps "$1/maps.debug" && "$BIN/debug_check" progs "$1/progs.debug"; }

# with_mount DIR CMD...: CMD... DIR on a fresh bpffs at DIR, unmounted after.
# A mount that fails is a failure: it proves nothing about the files.
with_mount() {
	mount_at "$1" || { diag "the bpffs mount failed"; return 1; }
	_wm=$1
	shift
	"$@" "$_wm"
	_wm_rc=$?
	run umount "$_wm" || _wm_rc=1
	return $_wm_rc
}
# mount_serves DIR: a fresh bpffs at DIR gets valid debug files.
mount_serves() { with_mount "$1" run debug_ok; }
# no_debug_files DIR: a fresh bpffs at DIR has neither file.
no_debug_files() { with_mount "$1" no_files; }
no_files() {
	has_files "$1" || return 0
	diag "a new bpffs mount has debug files:"
	run ls -la "$1"
	return 1
}

# mount_loop DIR ROUNDS CHECK: a background worker, silent unless it fails:
# ROUNDS times, or until $TMP/stop exists, mount a bpffs at DIR, CHECK DIR
# if it got a debug file, umount. Counts: a line to DIR.seen per mount with
# a file, to DIR.valid per one that passed; the rounds to DIR.rounds.
mount_loop() {
	OUT=$1.run # a scratch file of this subshell's own
	mkdir -p "$1"
	_i=0 _bad=0
	while [ "$_i" -lt "$2" ] && [ ! -e "$TMP/stop" ]; do
		_i=$((_i + 1))
		mount -t bpf bpf "$1" || { echo "$1: mount failed"; return 1; }
		if has_files "$1"; then
			echo "$_i" >>"$1.seen"
			if "$3" "$1" >"$OUT" 2>&1; then
				echo "$_i" >>"$1.valid"
			else
				echo "$1 round $_i:"
				cat "$OUT"
				_bad=1
			fi
		fi
		umount "$1" || { echo "$1: umount failed"; return 1; }
	done
	echo "$_i" >"$1.rounds"
	return $_bad
}

# klog_drain: the lines logged since the last drain, timestamps stripped,
# into $TMP/klog.new; all of them are kept in $TMP/klog.all.
klog_drain() {
	dmesg -c >"$TMP/klog.raw" 2>&1
	cat "$TMP/klog.raw" >>"$TMP/klog.all"
	sed 's/^\[[ 0-9.]*\] //' "$TMP/klog.raw" >"$TMP/klog.new"
}

# klog_expect_one LINE...: since the last drain, the only line about the
# module (the loader's taint notices aside) is exactly one of LINEs.
klog_expect_one() {
	klog_drain
	grep "$MODNAME" "$TMP/klog.new" | grep -v -e 'taints kernel\.$' \
		-e ' - tainting kernel$' -e ': kernel tainted\.$' >"$TMP/klog.ours"
	if [ "$(wc -l <"$TMP/klog.ours")" -eq 1 ] &&
		printf '%s\n' "$@" | grep -Fxq -f "$TMP/klog.ours"; then
		diag "kernel log: $(cat "$TMP/klog.ours")"
		return 0
	fi
	diag "expected exactly one kernel log line, one of:"
	printf '#   %s\n' "$@"
	diag "got:"
	diag_file "$TMP/klog.new"
	return 1
}

# t_dmesg, every suite's last test: no KLOG_BAD line since suite_start.
t_dmesg() {
	klog_drain
	if grep -E "$KLOG_BAD" "$TMP/klog.before" >"$TMP/klog.bad"; then
		diag "in the kernel log before the suite (not counted):"
		diag_file "$TMP/klog.bad"
	fi
	diag "kernel messages about bpf during the suite:"
	grep -iE "$MODNAME|bpf|other_ops" "$TMP/klog.all" | sort | uniq -c | diag_file
	! grep -E "$KLOG_BAD" "$TMP/klog.all" >"$TMP/klog.bad" ||
		fail "offending lines:" "$TMP/klog.bad"
}

# ktap_totals: the Totals line; a plan that is not what ran, or an empty
# one, is one more failure. Status 0 only if nothing failed.
ktap_totals() {
	trap - EXIT
	_kt_fail=$KTAP_FAIL
	if [ "$KTAP_NUM" -ne "$_kt_plan" ]; then
		diag "plan mismatch: planned $_kt_plan, ran $KTAP_NUM"
		_kt_fail=$((_kt_fail + 1))
	elif [ "$_kt_plan" -eq 0 ]; then
		diag "empty plan: no test ran"
		_kt_fail=$((_kt_fail + 1))
	fi
	echo "# Totals: pass:$((KTAP_NUM - KTAP_FAIL - KTAP_SKIP)) fail:$_kt_fail xfail:0" \
		"xpass:0 skip:$KTAP_SKIP error:0"
	[ "$_kt_fail" -eq 0 ]
}

# suite_start: a fresh TMP; the kernel log so far, not counted, to klog.before.
suite_start() {
	rm -rf "$TMP"
	mkdir -p "$TMP" || exit 1
	dmesg -c >"$TMP/klog.before" 2>&1
	: >"$TMP/klog.all"
}

# ktap_suite LIST [DIAG]: the KTAP runner (tests/README.md): each line
# "NAME [ARG]|description" of LIST runs t_NAME [ARG]; DIAG follows the plan;
# KTAP_POST, if set, gets a test's status and replaces it.
ktap_suite() {
	[ -d "$TMP" ] || suite_start
	_kt_list=$(printf '%s\n' "$1" | grep '|')
	_kt_plan=$(printf '%s\n' "$_kt_list" | grep -c '|')
	echo "TAP version 13"
	echo "1..$_kt_plan"
	[ -z "${2:-}" ] || diag "$2"
	KTAP_NUM=0 KTAP_FAIL=0 KTAP_SKIP=0
	trap 'diag "the suite exited (status $?) after $KTAP_NUM of $_kt_plan test(s)"
		ktap_totals
		exit 1' EXIT
	# Not a pipe (the counters must survive the loop), not stdin (tests
	# may read theirs).
	while IFS= read -r _kt_t <&5; do
		[ -n "$_kt_t" ] || continue
		SKIP_REASON='' KTAP_FAILED=0
		_kt_t0=$(now)
		# shellcheck disable=SC2086 # function name and argument
		t_${_kt_t%%|*}
		_kt_rc=$?
		[ "$KTAP_FAILED" -eq 0 ] || _kt_rc=1
		if [ -n "${KTAP_POST:-}" ]; then
			"$KTAP_POST" "$_kt_rc"
			_kt_rc=$?
		fi
		diag "($(($(now) - _kt_t0)) s)"
		KTAP_NUM=$((KTAP_NUM + 1))
		_kt_desc=${_kt_t#*|}
		if [ "$_kt_rc" -eq 0 ]; then
			echo "ok $KTAP_NUM $_kt_desc"
		elif [ "$_kt_rc" -eq 4 ]; then
			echo "ok $KTAP_NUM $_kt_desc # SKIP ${SKIP_REASON:-no reason given}"
			KTAP_SKIP=$((KTAP_SKIP + 1))
		else
			echo "not ok $KTAP_NUM $_kt_desc"
			KTAP_FAIL=$((KTAP_FAIL + 1))
		fi
	done 5<<-EOF
		$_kt_list
	EOF
	ktap_totals
	_ks=$?
	! is_mounted "$MNT" || umount "$MNT"
	for _m in $MODNAME other_ops; do
		[ ! -d "/sys/module/$_m" ] || rmmod "$_m"
	done
	rm -rf "$TMP"
	return $_ks
}

usage() {
	echo "usage: $0 $*" >&2
	exit 2
}
