#!/bin/sh
# debug.sh pre|post: debug-kernel checks for bpf_preload (KASAN, kmemleak,
# lockdep, fault injection: scripts/kconfig/debug.config; tests/README.md),
# KTAP, in the test VM around run.sh and robust.sh, with robust.sh's layout.

# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
BASELINE=$TMP/baseline
DBG=/sys/kernel/debug
ROUNDS=8 # loads per setting
SETTINGS="1:1 5:1 10:2 25:3 50:5" # probability (percent):times (most failures per load)
# fail-nth: loads spread over all of a load's points, then one per point of
# the last FAIL_NTH_TAIL (our attach steps and the loader's work after init).
FAIL_NTH_LOADS=40
FAIL_NTH_TAIL=60
# Bugs, not reports: an injected allocation failure prints a Call Trace
# (warn_alloc), which is the injection working. WARN() says "cut here" and
# "WARNING:", KASAN and sleeping in atomic context "BUG:", lockdep "WARNING:".
KLOG_BAD='(^|[^A-Za-z])(WARNING|BUG|Oops)([^A-Za-z]|$)|cut here|KASAN|general protection'

lockdep_on() { # debug_locks is 1 (a splat turns it off)
	_dl=$(awk '/debug_locks:/ { print $2 }' /proc/lockdep_stats)
	diag "lockdep debug_locks: $_dl (0 means a splat turned lockdep off)"
	[ "$_dl" = 1 ]
}

# The boot log is in $TMP/klog.before (suite_start).
t_features() {
	for _p in "$DBG/kmemleak" "$DBG/failslab/probability" \
		"$DBG/fail_function/inject" "$DBG/fail_page_alloc/probability" \
		/proc/self/make-it-fail /proc/lockdep_stats; do
		[ -e "$_p" ] || fail "missing: $_p"
	done
	grep -E 'KernelAddressSanitizer|kmemleak' "$TMP/klog.before" | diag_file
	grep -q 'KernelAddressSanitizer initialized' "$TMP/klog.before" || fail "KASAN did not initialize"
	lockdep_on || fail
	# Boot-time findings are not ours; only what follows counts.
	echo clear >"$DBG/kmemleak"
}

# fail_all DIR: sleeping (GFP_KERNEL) and order-0 allocations can fail too,
# not only the atomic ones failslab and fail_page_alloc pick by default.
fail_all() {
	for _k in ignore-gfp-wait ignore-gfp-highmem cache-filter; do
		[ ! -e "$1/$_k" ] || echo N >"$1/$_k" || return 1
	done
	[ ! -e "$1/min-order" ] || echo 0 >"$1/min-order" || return 1
	echo 0 >"$1/verbose"
}

# fail_set DIR PROBABILITY TIMES: fail at most TIMES allocations, each with
# PROBABILITY percent, of tasks that set make-it-fail.
fail_set() {
	echo Y >"$1/task-filter" &&
		echo "$2" >"$1/probability" &&
		echo 1 >"$1/interval" &&
		echo "$3" >"$1/times" &&
		echo 0 >"$1/space"
}

unclean() {
	fail "$@"
	_c="NOT CLEAN"
}

# faulty_load KMOD_FDS_OPTION...: one load under fault injection (-f:
# make-it-fail, -n N: fail-nth), its outcome appended to $TMP/outcomes.
# Clean load: serves a mount, unloads, leaves nothing. Clean failure: no
# module, no fd, no object left, the hook free, at most one line of ours.
faulty_load() {
	klog_drain
	"$BIN/kmod_fds" -a -z "$@" "$MODULE" >"$OUT" 2>&1
	_rc=$?
	klog_drain
	_o=$(sed -n 's/^kmod_fds: outcome: //p' "$OUT")
	_reached=$(sed -n 's/^kmod_fds: fail-nth: .*, \([0-9]*\) points reached$/\1/p' "$OUT")
	_c=clean
	[ "$_rc" -eq 0 ] || unclean "kmod_fds (fd tables, outcome):" "$OUT"
	_ours=$(grep -c "^$MODNAME: .* failed: " "$TMP/klog.new")
	if [ "$_o" = loaded ]; then
		[ "$_ours" -eq 0 ] || unclean "loaded, yet reported a failure"
		mount_serves "$TMP/m" >"$TMP/serve.out" 2>&1 ||
			unclean "loaded, but a mount is not served right:" "$TMP/serve.out"
		poll rmmod $MODNAME 2>/dev/null || unclean "rmmod failed"
		_what="loaded"
	else
		! mod_loaded || { unclean "$_o, but /sys/module/$MODNAME exists"; rmmod $MODNAME; }
		[ "$_ours" -le 1 ] || unclean "$_ours failure lines of ours"
		_step=$(sed -n "s/^$MODNAME: \(.*\) failed: .*/\1/p" "$TMP/klog.new")
		_what="failed $_o with no line of ours (the loader failed before our init)"
		[ -z "$_step" ] || _what="failed $_o in our step: $_step"
		hook_free >"$TMP/hook.out" 2>&1 ||
			unclean "other_ops could not take the hook:" "$TMP/hook.out"
	fi
	"$BIN/bpf_count" settle -t 20000 "$BASELINE" >"$OUT" 2>&1 || unclean "objects left:" "$OUT"
	! grep -Eq "$KLOG_BAD" "$TMP/klog.new" || unclean "kernel log:" "$TMP/klog.new"
	echo "$_c: $_what" >>"$TMP/outcomes"
	[ "$_c" = clean ]
}

outcomes_start() {
	: >"$TMP/outcomes"
	run "$BIN/bpf_count" snap "$BASELINE"
}
outcomes() {
	diag "outcomes (count, outcome):"
	sort "$TMP/outcomes" | uniq -c | diag_file
}

fault_rounds() {
	fail_all "$1" || { diag "cannot set up $1"; return 1; }
	outcomes_start || return 1
	for _s in $SETTINGS; do
		for _i in $(seq "$ROUNDS"); do
			_prob=${_s%%:*} _times=${_s#*:}
			fail_set "$1" "$_prob" "$_times" || { diag "cannot set up $1"; return 1; }
			faulty_load -f || fail "probability $_prob% times $_times round $_i: see above"
			fail_set "$1" 0 0
		done
	done
	outcomes
}

t_failslab() { fault_rounds "$DBG/failslab"; }
t_fail_function() {
	echo should_fail_alloc_page >"$DBG/fail_function/inject" || return 1
	echo 1 >"$DBG/fail_function/should_fail_alloc_page/retval" || fail
	fault_rounds "$DBG/fail_function" || fail
	echo >"$DBG/fail_function/inject" || :
}

# Systematic: count the fault injection points one load reaches (failslab
# and fail_page_alloc sites, every allocation), then fail the Nth point, one
# load per N.
t_fail_nth() {
	for _d in "$DBG/failslab" "$DBG/fail_page_alloc"; do
		{ fail_all "$_d" && echo 0 >"$_d/probability"; } || { diag "cannot set up $_d"; return 1; }
	done
	outcomes_start || return 1
	faulty_load -n 1000000 || fail
	_k=$_reached
	diag "a load reaches $_k fault injection points"
	[ -n "$_k" ] && [ "$_k" -gt 1 ] || return 1
	_tail=$((_k - FAIL_NTH_TAIL + 1))
	[ "$_tail" -ge 1 ] || _tail=1
	for _i in $(seq 0 $((FAIL_NTH_LOADS - 1))); do
		_n=$((1 + _i * (_k - 1) / (FAIL_NTH_LOADS - 1)))
		faulty_load -n "$_n" || fail "fail-nth $_n: see above"
	done
	for _n in $(seq "$_tail" "$_k"); do
		faulty_load -n "$_n" || fail "fail-nth $_n: see above"
	done
	outcomes
}

t_kmemleak() {
	_t0=$(now)
	# An object is reported once two scans saw it unreferenced.
	echo scan >"$DBG/kmemleak" || return 1
	echo scan >"$DBG/kmemleak" || return 1
	cat "$DBG/kmemleak" >"$TMP/kmemleak"
	# One line per object: "comm <name> | frames ...".
	awk '
		/^unreferenced object/ { if (o != "") print o; o = $0; next }
		{ gsub(/^ +/, ""); o = o " | " $0 }
		END { if (o != "") print o }
	' "$TMP/kmemleak" >"$TMP/kmemleak.objects"
	diag "kmemleak: $(wc -l <"$TMP/kmemleak.objects") unreferenced object(s) since the suite" \
		"started ($(($(now) - _t0)) s to scan)"
	# Ours: a frame in bpf_preload or other_ops, a frame that no longer
	# resolves (an unloaded module's text), or allocated by a loading task.
	_re='\[(bpf_preload|other_ops)\]|bpf_preload_|\] 0x[0-9a-f]+$|\] 0x[0-9a-f]+ \|'
	grep -E "$_re|comm \"(insmod|kmod_fds|kmod_load|rmmod|modprobe)\"" \
		"$TMP/kmemleak.objects" >"$TMP/kmemleak.ours"
	[ ! -s "$TMP/kmemleak.objects" ] || { diag "report:" && diag_file "$TMP/kmemleak"; }
	[ -s "$TMP/kmemleak.ours" ] || return 0
	diag "$(wc -l <"$TMP/kmemleak.ours") of them from bpf_preload or its loading"
	return 1
}

t_lockdep() { lockdep_on; }

case ${1:-} in
pre)
	ktap_suite "
features|debug kernel: KASAN on, kmemleak on (boot findings cleared), lockdep on, failslab, fail_page_alloc and fail_function in debugfs
"
	;;
post)
	ktap_suite "
failslab|failslab on the loading task ($SETTINGS percent:times, $ROUNDS rounds each): every load clean or a clean failure
fail_function|fail_function on should_fail_alloc_page for the loading task: every load clean or a clean failure
fail_nth|fail-nth sweep: the Nth allocation of a load fails, for $FAIL_NTH_LOADS values of N over all of them and each of the last $FAIL_NTH_TAIL: every load clean or a clean failure
kmemleak|kmemleak scan: nothing unreferenced from bpf_preload or its loading
lockdep|lockdep still on (no splat turned it off)
dmesg|no KASAN, lockdep, BUG, WARNING or Oops since the post checks started
"
	;;
*) usage "pre|post" ;;
esac
