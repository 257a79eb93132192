#!/bin/sh
# bpf_preload test suite; runs inside the test VM as root (busybox sh).
#
#   run.sh check   run the suite, print KTAP, exit 0 only if every test passed
#   run.sh show    load the module, mount bpffs and show what a user sees:
#                  maps.debug, progs.debug and `bpftool prog show`
#
# Expected layout: the module at /bpf_preload.ko (override: BPF_PRELOAD_KO),
# the test programs in bin/ next to this script, busybox and bpftool on PATH,
# /proc, /sys and /dev mounted, /lib/modules/$(uname -r)/ present.
#
# The suite loads and unloads the module, mounts and unmounts bpffs at
# /sys/fs/bpf, and installs the module under /lib/modules for the autoload
# test (removed again afterwards). Nothing here needs a fixed sleep: waits
# for deferred frees poll for at most 5 s in 0.1 s steps.

set -u

MODULE=${BPF_PRELOAD_KO:-/bpf_preload.ko}
MODNAME=bpf_preload
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/bin
MNT=/sys/fs/bpf
KREL=$(uname -r)
KMAJ=$(echo "$KREL" | cut -d. -f1)
KMIN=$(echo "$KREL" | cut -d. -f2 | sed 's/[^0-9].*//')
EXTRA=/lib/modules/$KREL/extra
TMP=${TMPDIR:-/tmp}/bpf_preload_tests.$$
OUT=$TMP/out

# BPF_PRELOAD_BUILTIN=1: the preload is built into the kernel
# (CONFIG_BPF_PRELOAD_UMD=y, see scripts/check/check-intree.sh); the tests that
# load, unload or install a module are reported as skipped.
BUILTIN=${BPF_PRELOAD_BUILTIN:-0}
MODULE_TESTS=" insmod rmmod_mounted after_rmmod iterators_freed no_module_mount autoload autoload_cleanup insmod_twice stress "

# Kernels with kfunc bpf_map_sum_elem_count (6.6+) print element counts if
# they can call it: that needs the BPF JIT, whose sysctl exists only on
# kernels built with one (Debian's s390x kernels have none).
if { [ "$KMAJ" -gt 6 ] || { [ "$KMAJ" -eq 6 ] && [ "$KMIN" -ge 6 ]; }; } &&
	[ -e /proc/sys/net/core/bpf_jit_enable ]; then
	MAPS_HEADER='  id name             max_entries  cur_entries'
	VARIANT="count"
else
	MAPS_HEADER='  id name             max_entries'
	VARIANT="plain"
fi
PROGS_HEADER='  id name             attached'

# --- helpers ------------------------------------------------------------------

diag() { printf '# %s\n' "$*"; }

# Indent a file's lines as KTAP diagnostics; `|` marks the line ends so that
# trailing spaces stay visible.
diag_file() { sed -e 's/^/#   /' -e 's/$/|/' "$1"; }

# Run a command, showing it and its output (stdout+stderr) as diagnostics.
run() {
	diag "\$ $*"
	"$@" >"$OUT" 2>&1
	_rc=$?
	sed 's/^/#   /' "$OUT"
	[ "$_rc" -eq 0 ] || diag "(exit status $_rc)"
	return "$_rc"
}

module_loaded() { [ -d /sys/module/$MODNAME ]; }

is_mounted() { grep -q " $1 bpf " /proc/mounts; }

# poll CMD...: run CMD every 0.1 s until it succeeds, for at most 5 s.
poll() {
	_i=0
	while [ "$_i" -lt 50 ]; do
		"$@" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	"$@"
}

# Our iterator programs / links, as bpftool reports them.
iter_progs_present() {
	bpftool prog show 2>/dev/null | grep -Eq 'name dump_bpf_(map|prog) '
}
iter_links_present() {
	bpftool link show 2>/dev/null | grep -Eq '^[0-9]+: iter '
}
iterators_gone() { ! iter_progs_present && ! iter_links_present; }

# Wait until no dump_bpf_* program and no iter link is left.
wait_iterators_gone() {
	if poll iterators_gone; then
		return 0
	fi
	diag "still present after 5 s:"
	run bpftool prog show
	run bpftool link show
	return 1
}

# debug_files_ok DIR: both files exist and every line has the right format.
debug_files_ok() {
	run "$BIN/debug_check" --map iterator.rodata maps "$1/maps.debug" &&
		run "$BIN/debug_check" \
			--prog dump_bpf_map:bpf_iter_bpf_map \
			--prog dump_bpf_prog:bpf_iter_bpf_prog \
			progs "$1/progs.debug"
}

# Rows for our own objects (the rest may come and go, e.g. __loader.map or
# bpftool's short-lived pid iterator).
our_rows() {
	grep -hE '^ *[0-9]+ (iterator\.rodata|dump_bpf_map|dump_bpf_prog) ' "$@"
}

# --- tests --------------------------------------------------------------------
# Each test is a function t_NAME; returns 0 (pass), 1 (fail) or 4 (skip, with
# SKIP_REASON set). Diagnostics go to stdout before the result line.

t_insmod() {
	run insmod "$MODULE" || return 1
	module_loaded || { diag "/sys/module/$MODNAME missing after insmod"; return 1; }
	diag "initstate: $(cat /sys/module/$MODNAME/initstate 2>&1)"
}

t_mount() {
	run mount -t bpf bpf "$MNT" || return 1
	is_mounted "$MNT" || { diag "$MNT not in /proc/mounts"; return 1; }
}

t_modes() {
	_ok=0
	for _f in maps.debug progs.debug; do
		if [ ! -f "$MNT/$_f" ]; then
			diag "$MNT/$_f: not a regular file"
			_ok=1
			continue
		fi
		_m=$(stat -c '%A %u:%g' "$MNT/$_f")
		diag "$_f: $_m"
		[ "$_m" = "-r-------- 0:0" ] || { diag "$_f: expected -r-------- 0:0"; _ok=1; }
	done
	run ls -la "$MNT"
	return $_ok
}

t_maps_format() {
	diag "kernel $KREL: expecting the $VARIANT layout"
	_h=$(head -n 1 "$MNT/maps.debug") || return 1
	if [ "$_h" != "$MAPS_HEADER" ]; then
		diag "header:   '$_h'"
		diag "expected: '$MAPS_HEADER'"
		return 1
	fi
	run "$BIN/debug_check" --variant=kernel maps "$MNT/maps.debug"
	_rc=$?
	cat "$MNT/maps.debug" >"$TMP/maps" && diag_file "$TMP/maps"
	return $_rc
}

t_progs_format() {
	_h=$(head -n 1 "$MNT/progs.debug") || return 1
	if [ "$_h" != "$PROGS_HEADER" ]; then
		diag "header:   '$_h'"
		diag "expected: '$PROGS_HEADER'"
		return 1
	fi
	run "$BIN/debug_check" progs "$MNT/progs.debug"
	_rc=$?
	cat "$MNT/progs.debug" >"$TMP/progs" && diag_file "$TMP/progs"
	return $_rc
}

t_maps_rodata() {
	run "$BIN/debug_check" --print --map iterator.rodata maps "$MNT/maps.debug"
}

t_progs_iters() {
	run "$BIN/debug_check" --print \
		--prog dump_bpf_map:bpf_iter_bpf_map \
		--prog dump_bpf_prog:bpf_iter_bpf_prog \
		progs "$MNT/progs.debug"
}

t_cross_check() {
	run "$BIN/debug_check" --cross-check maps "$MNT/maps.debug" &&
		run "$BIN/debug_check" --cross-check progs "$MNT/progs.debug"
}

t_small_reads() {
	_ok=0
	for _f in maps.debug progs.debug; do
		# Twice, in case an object (e.g. __loader.map) went away between
		# the two reads of the first attempt.
		for _try in 1 2; do
			cat "$MNT/$_f" >"$TMP/big" 2>&1
			dd if="$MNT/$_f" of="$TMP/small" bs=1 2>/dev/null
			cmp -s "$TMP/big" "$TMP/small" && break
		done
		if cmp -s "$TMP/big" "$TMP/small"; then
			diag "$_f: $(wc -c <"$TMP/big") bytes either way"
		else
			diag "$_f: large read:"
			diag_file "$TMP/big"
			diag "$_f: 1-byte reads:"
			diag_file "$TMP/small"
			_ok=1
		fi
	done
	return $_ok
}

t_bpftool_progs() {
	run bpftool prog show || return 1
	_ok=0
	for _p in dump_bpf_map dump_bpf_prog; do
		grep -Eq "^[0-9]+: tracing +name $_p " "$OUT" ||
			{ diag "no tracing program named $_p"; _ok=1; }
	done
	return $_ok
}

t_bpftool_links() {
	run bpftool link show || return 1
	_n=$(grep -Ec '^[0-9]+: iter ' "$OUT")
	diag "$_n iter link(s)"
	[ "$_n" -eq 2 ] || { diag "expected 2 iter links"; return 1; }
	_ok=0
	for _t in bpf_map bpf_prog; do
		grep -Eq "^[0-9]+: iter .*target_name $_t( |\$)" "$OUT" ||
			{ diag "no iter link with target_name $_t"; _ok=1; }
	done
	run "$BIN/bpf_objs" links
	return $_ok
}

t_bpffs_ops() {
	run "$BIN/bpffs_ops" "$TMP"
}

t_rmmod_mounted() {
	cat "$MNT/maps.debug" >"$TMP/maps.before" 2>&1
	cat "$MNT/progs.debug" >"$TMP/progs.before" 2>&1
	# Kept open across rmmod, read in the next test.
	exec 3<"$MNT/progs.debug"
	run rmmod $MODNAME || return 1
	if module_loaded; then
		diag "/sys/module/$MODNAME still exists"
		return 1
	fi
}

t_after_rmmod() {
	if module_loaded; then
		diag "precondition: module still loaded"
		exec 3<&-
		return 1
	fi
	# Opened before rmmod, read after it.
	cat <&3 >"$TMP/progs.fd3" 2>&1
	exec 3<&-
	if ! cmp -s "$TMP/progs.before" "$TMP/progs.fd3"; then
		diag "progs.debug opened before rmmod, read after it:"
		diag_file "$TMP/progs.fd3"
		return 1
	fi
	debug_files_ok "$MNT" || return 1
	our_rows "$TMP/maps.before" "$TMP/progs.before" >"$TMP/rows.before"
	cat "$MNT/maps.debug" >"$TMP/maps.after"
	cat "$MNT/progs.debug" >"$TMP/progs.after"
	our_rows "$TMP/maps.after" "$TMP/progs.after" >"$TMP/rows.after"
	if ! cmp -s "$TMP/rows.before" "$TMP/rows.after"; then
		diag "rows for iterator.rodata/dump_bpf_* changed across rmmod:"
		diag "before:"
		diag_file "$TMP/rows.before"
		diag "after:"
		diag_file "$TMP/rows.after"
		return 1
	fi
	diag "same rows before and after rmmod:"
	diag_file "$TMP/rows.after"
}

t_umount() {
	run umount "$MNT" || return 1
	! is_mounted "$MNT" || { diag "$MNT still mounted"; return 1; }
}

t_iterators_freed() {
	if module_loaded || is_mounted "$MNT"; then
		diag "precondition: module unloaded and $MNT unmounted"
		return 1
	fi
	wait_iterators_gone || return 1
	run "$BIN/bpf_objs" progs
}

# Without the module installed anywhere, a mount autoloads nothing: this
# makes sure the autoload test below really tests autoloading.
t_no_module_mount() {
	if find "/lib/modules/$KREL" -name "$MODNAME.ko*" 2>/dev/null | grep -q .; then
		SKIP_REASON="a $MODNAME module is already installed in /lib/modules/$KREL"
		return 4
	fi
	module_loaded && { diag "precondition: module not loaded"; return 1; }
	mkdir -p "$TMP/none"
	run mount -t bpf bpf "$TMP/none" || return 1
	_ok=0
	run ls -la "$TMP/none"
	if [ -e "$TMP/none/maps.debug" ] || [ -e "$TMP/none/progs.debug" ]; then
		diag "debug files appeared although the module is not installed"
		_ok=1
	fi
	if module_loaded; then
		diag "$MODNAME got loaded although it is not installed"
		_ok=1
	fi
	run umount "$TMP/none" || _ok=1
	module_loaded && rmmod $MODNAME
	return $_ok
}

t_autoload() {
	if module_loaded; then
		diag "precondition: module not loaded"
		return 1
	fi
	diag "modprobe helper: $(cat /proc/sys/kernel/modprobe 2>&1)"
	mkdir -p "$EXTRA" && run cp "$MODULE" "$EXTRA/$MODNAME.ko" || return 1
	run depmod || return 1
	grep "$MODNAME" "/lib/modules/$KREL/modules.dep" | sed 's/^/#   modules.dep: /'
	mkdir -p "$TMP/auto"
	run mount -t bpf bpf "$TMP/auto" || return 1
	run ls -la "$TMP/auto"
	_ok=0
	module_loaded || { diag "/sys/module/$MODNAME missing: not autoloaded"; _ok=1; }
	for _f in maps.debug progs.debug; do
		[ -f "$TMP/auto/$_f" ] || { diag "$_f missing"; _ok=1; }
	done
	[ $_ok -eq 0 ] || return 1
	debug_files_ok "$TMP/auto"
}

t_autoload_cleanup() {
	_ok=0
	if is_mounted "$TMP/auto"; then
		run umount "$TMP/auto" || _ok=1
	fi
	if module_loaded; then
		run rmmod $MODNAME || _ok=1
	fi
	rm -f "$EXTRA/$MODNAME.ko"
	run depmod || _ok=1
	module_loaded && { diag "module still loaded"; _ok=1; }
	wait_iterators_gone || _ok=1
	return $_ok
}

t_insmod_twice() {
	if module_loaded; then
		diag "precondition: module not loaded"
		return 1
	fi
	run "$BIN/kmod_load" "$MODULE" || return 1
	_ok=0
	run "$BIN/kmod_load" -e EEXIST "$MODULE" || _ok=1
	module_loaded || { diag "module gone after the second insmod"; _ok=1; }
	_st=$(cat /sys/module/$MODNAME/initstate 2>&1)
	[ "$_st" = live ] || { diag "initstate: $_st"; _ok=1; }
	# The loaded module still serves new mounts.
	mkdir -p "$TMP/again"
	if run mount -t bpf bpf "$TMP/again"; then
		debug_files_ok "$TMP/again" || _ok=1
		run umount "$TMP/again" || _ok=1
	else
		_ok=1
	fi
	run rmmod $MODNAME || _ok=1
	wait_iterators_gone || _ok=1
	return $_ok
}

# One reader: mount a fresh bpffs, check whatever debug files it got, umount;
# $2 rounds. Output only on failure.
stress_reader() {
	_d=$TMP/stress.$1
	OUT=$_d.run # we run in a background subshell: our own scratch file
	mkdir -p "$_d"
	_i=0
	while [ "$_i" -lt "$2" ]; do
		_i=$((_i + 1))
		mount -t bpf bpf "$_d" || { echo "reader $1: mount failed"; return 1; }
		# Files either both exist (then fully valid) or neither does.
		if [ -e "$_d/maps.debug" ] || [ -e "$_d/progs.debug" ]; then
			debug_files_ok "$_d" >"$_d.out" 2>&1 ||
				{ echo "reader $1 round $_i:"; cat "$_d.out"; }
			echo "$_i" >>"$_d.seen"
		fi
		umount "$_d" || { echo "reader $1: umount failed"; return 1; }
	done
}

t_stress() {
	if module_loaded; then
		diag "precondition: module not loaded"
		return 1
	fi
	_ok=0
	_r=0
	_seen=0
	while [ "$_r" -lt 10 ]; do
		_r=$((_r + 1))
		insmod "$MODULE" >"$OUT" 2>&1 ||
			{ diag "round $_r: insmod failed:"; diag_file "$OUT"; _ok=1; break; }
		rm -f "$TMP"/stress.*.seen
		for _k in 1 2 3; do
			stress_reader "$_k" 10 >"$TMP/stress.$_k.log" 2>&1 &
		done
		# Unload once a reader got the files, while the others go on
		# mounting. EBUSY while a mount holds a reference on the
		# module is fine, so retry for up to 5 s.
		poll test -e "$TMP/stress.1.seen"
		if ! poll rmmod $MODNAME 2>/dev/null; then
			diag "round $_r: rmmod kept failing"
			_ok=1
		fi
		wait
		_seen=$((_seen + $(cat "$TMP"/stress.*.seen 2>/dev/null | wc -l)))
		for _k in 1 2 3; do
			if [ -s "$TMP/stress.$_k.log" ]; then
				diag "round $_r:"
				diag_file "$TMP/stress.$_k.log"
				_ok=1
			fi
		done
		[ $_ok -eq 0 ] || break
	done
	diag "$_r round(s) of insmod, 3 concurrent mount/read/umount loops, rmmod"
	diag "$_seen of $((_r * 30)) mounts got the debug files"
	module_loaded && rmmod $MODNAME
	wait_iterators_gone || _ok=1
	return $_ok
}

t_dmesg() {
	dmesg >"$TMP/dmesg.all"
	# Only what was logged during the suite; boot messages are reported
	# but not held against the module.
	_n=$(wc -l <"$TMP/dmesg.before")
	tail -n +$((_n + 1)) "$TMP/dmesg.all" >"$TMP/dmesg.new"
	_bad='(^|[^A-Za-z])(WARNING|BUG|Oops)([^A-Za-z]|$)|Call Trace'
	if grep -Eq "$_bad" "$TMP/dmesg.before"; then
		diag "already in dmesg before the suite (not counted):"
		grep -E "$_bad" "$TMP/dmesg.before" | sed 's/^/#   /'
	fi
	diag "kernel messages during the suite:"
	grep -iE "$MODNAME|bpf" "$TMP/dmesg.new" | sed 's/^/#   /'
	if grep -Eq "$_bad" "$TMP/dmesg.new"; then
		diag "offending lines:"
		grep -E "$_bad" "$TMP/dmesg.new" | sed 's/^/#   /'
		return 1
	fi
}

# name|description, in running order.
TESTS="
insmod|insmod $MODULE succeeds
mount|mount bpffs at $MNT
modes|maps.debug and progs.debug exist with mode 0400 (-r--------)
maps_format|maps.debug header and rows match the $VARIANT format of kernel $KMAJ.$KMIN
progs_format|progs.debug header and rows match the format
maps_rodata|maps.debug lists the iterator.rodata map
progs_iters|progs.debug lists dump_bpf_map on bpf_iter_bpf_map and dump_bpf_prog on bpf_iter_bpf_prog
cross_check|maps.debug and progs.debug rows agree with the bpf() syscall
small_reads|1-byte reads return the same content as large reads
bpftool_progs|bpftool prog show lists dump_bpf_map and dump_bpf_prog
bpftool_links|bpftool link show lists two iter links (bpf_map, bpf_prog)
bpffs_ops|bpffs_ops: two mounts, mkdir, pin, renameat2 exchange and noreplace
rmmod_mounted|rmmod while bpffs is mounted
after_rmmod|after rmmod both files still read, same format and rows
umount|umount $MNT
iterators_freed|no dump_bpf_* program or iter link remains after umount and rmmod
no_module_mount|bpffs mount with the module neither loaded nor installed has no debug files
autoload|bpffs mount without insmod autoloads the module installed with depmod
autoload_cleanup|umount and rmmod after autoload free the iterators
insmod_twice|insmod while loaded fails with EEXIST, loaded module keeps working
stress|insmod/rmmod racing concurrent bpffs mounts and reads
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
"

list_tests() { echo "$TESTS" | grep '|'; }

cmd_check() {
	mkdir -p "$TMP" || exit 1
	dmesg >"$TMP/dmesg.before" 2>/dev/null || : >"$TMP/dmesg.before"
	echo "TAP version 13"
	echo "1..$(list_tests | wc -l)"
	if [ "$BUILTIN" = 1 ]; then
		diag "kernel $KREL, preload built in"
	else
		diag "kernel $KREL, module $MODULE"
	fi
	# Leftovers of an earlier run (e.g. `run.sh show`).
	is_mounted "$MNT" && run umount "$MNT"
	module_loaded && run rmmod $MODNAME

	_num=0 _pass=0 _fail=0 _skip=0
	_list=$(list_tests)
	# Not a pipe: the counters must survive the loop.
	IFS='
'
	for _t in $_list; do
		IFS=' 	
'
		_name=${_t%%|*}
		_desc=${_t#*|}
		_num=$((_num + 1))
		SKIP_REASON=""
		case $BUILTIN:$MODULE_TESTS in
		1:*" $_name "*)
			SKIP_REASON="built into the kernel: no module to load, unload or install"
			_rc=4
			;;
		*)
			"t_$_name"
			_rc=$?
			;;
		esac
		if [ $_rc -eq 0 ]; then
			echo "ok $_num $_desc"
			_pass=$((_pass + 1))
		elif [ $_rc -eq 4 ]; then
			echo "ok $_num $_desc # SKIP $SKIP_REASON"
			_skip=$((_skip + 1))
		else
			echo "not ok $_num $_desc"
			_fail=$((_fail + 1))
		fi
	done
	IFS=' 	
'
	# Leave the VM as we found it.
	is_mounted "$MNT" && umount "$MNT"
	module_loaded && rmmod $MODNAME
	rm -rf "$TMP"
	echo "# Totals: pass:$_pass fail:$_fail xfail:0 xpass:0 skip:$_skip error:0"
	[ $_fail -eq 0 ]
}

cmd_show() {
	_rc=0
	if [ "$BUILTIN" != 1 ] && ! module_loaded; then
		echo "\$ insmod $MODULE"
		insmod "$MODULE" || _rc=1
	fi
	if ! is_mounted "$MNT"; then
		echo "\$ mount -t bpf bpf $MNT"
		mount -t bpf bpf "$MNT" || _rc=1
	fi
	for _c in "cat $MNT/maps.debug" "cat $MNT/progs.debug" "bpftool prog show"; do
		echo "\$ $_c"
		$_c || _rc=1
	done
	return $_rc
}

case ${1:-} in
check) cmd_check ;;
show) cmd_show ;;
*)
	echo "usage: $0 check|show" >&2
	exit 2
	;;
esac
