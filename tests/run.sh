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
MNT=/sys/fs/bpf
KREL=$(uname -r)
EXTRA=/lib/modules/$KREL/extra
TMP=${TMPDIR:-/tmp}/bpf_preload_tests.$$
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"

# BPF_PRELOAD_BUILTIN=1: the preload is built into the kernel
# (CONFIG_BPF_PRELOAD_UMD=y, see scripts/check/check-intree.sh); the tests that
# load, unload or install a module are reported as skipped.
BUILTIN=${BPF_PRELOAD_BUILTIN:-0}
MODULE_TESTS=" insmod rmmod_mounted after_rmmod iterators_freed no_module_mount same_as_c_module autoload autoload_cleanup insmod_twice stress "

# KTAP_PRE: skip the module tests when the preload is built in.
builtin_skip() {
	case $BUILTIN:$MODULE_TESTS in
	1:*" $1 "*)
		SKIP_REASON="built into the kernel: no module to load, unload or install"
		return 4
		;;
	esac
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
	mod_loaded || { diag "/sys/module/$MODNAME missing after insmod"; return 1; }
	diag "initstate: $(cat /sys/module/$MODNAME/initstate 2>&1)"
}

t_mount() {
	run mount -t bpf bpf "$MNT" || return 1
	is_mounted "$MNT" || { diag "$MNT not in /proc/mounts"; return 1; }
}

t_modes() { files_ok "$MNT"; }

# debug_check checks the header line exactly (for maps.debug the variant
# of this kernel, see maps_variant) and reprints every row in the kernel's
# format.
t_maps_format() {
	run "$BIN/debug_check" maps "$MNT/maps.debug"
	_rc=$?
	cat "$MNT/maps.debug" >"$TMP/maps" && diag_file -e "$TMP/maps"
	return $_rc
}

t_progs_format() {
	run "$BIN/debug_check" progs "$MNT/progs.debug"
	_rc=$?
	cat "$MNT/progs.debug" >"$TMP/progs" && diag_file -e "$TMP/progs"
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
			diag_file -e "$TMP/big"
			diag "$_f: 1-byte reads:"
			diag_file -e "$TMP/small"
			_ok=1
		fi
	done
	return $_ok
}

t_bpftool_progs() { iter_progs_ok; }

t_bpftool_links() {
	_ok=0
	iter_links_ok || _ok=1
	run "$BIN/bpf_objs" links || _ok=1
	return $_ok
}

t_bpffs_ops() {
	run "$BIN/bpffs_ops" "$TMP"
}

t_rmmod_mounted() {
	cat "$MNT/maps.debug" >"$TMP/maps.before" 2>&1
	cat "$MNT/progs.debug" >"$TMP/progs.before" 2>&1
	# Kept open across rmmod, read in the next test. (A redirection that
	# fails on exec would end the shell: check first.)
	[ -r "$MNT/progs.debug" ] || { diag "$MNT/progs.debug: cannot read"; return 1; }
	exec 3<"$MNT/progs.debug"
	run rmmod $MODNAME || return 1
	if mod_loaded; then
		diag "/sys/module/$MODNAME still exists"
		return 1
	fi
}

t_after_rmmod() {
	if mod_loaded; then
		diag "precondition: module still loaded"
		exec 3<&-
		return 1
	fi
	# Opened before rmmod, read after it.
	cat <&3 >"$TMP/progs.fd3" 2>&1
	exec 3<&-
	if ! cmp -s "$TMP/progs.before" "$TMP/progs.fd3"; then
		diag "progs.debug opened before rmmod, read after it:"
		diag_file -e "$TMP/progs.fd3"
		return 1
	fi
	run debug_ok "$MNT" || return 1
	our_rows "$TMP/maps.before" "$TMP/progs.before" >"$TMP/rows.before"
	cat "$MNT/maps.debug" >"$TMP/maps.after"
	cat "$MNT/progs.debug" >"$TMP/progs.after"
	our_rows "$TMP/maps.after" "$TMP/progs.after" >"$TMP/rows.after"
	if ! cmp -s "$TMP/rows.before" "$TMP/rows.after"; then
		diag "rows for iterator.rodata/dump_bpf_* changed across rmmod:"
		diag "before:"
		diag_file -e "$TMP/rows.before"
		diag "after:"
		diag_file -e "$TMP/rows.after"
		return 1
	fi
	diag "same rows before and after rmmod:"
	diag_file -e "$TMP/rows.after"
}

t_umount() {
	run umount "$MNT" || return 1
	! is_mounted "$MNT" || { diag "$MNT still mounted"; return 1; }
}

t_iterators_freed() {
	if mod_loaded || is_mounted "$MNT"; then
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
	mod_loaded && { diag "precondition: module not loaded"; return 1; }
	_ok=0
	no_debug_files "$TMP/none" || _ok=1
	if mod_loaded; then
		diag "$MODNAME got loaded although it is not installed"
		_ok=1
		rmmod $MODNAME
	fi
	return $_ok
}

# The kernel's own C module (kernel/bpf/preload of the same kernel version,
# /c_module/bpf_preload.ko when the host built one) and ours, in turn, over
# the same objects: both files byte for byte the same, each module's own
# rows aside (its iterators, their data map and the skeleton's loader map,
# which the kernel frees a moment after loading).
C_MODULE=${BPF_PRELOAD_C_KO:-/c_module/bpf_preload.ko}
# read_with MODULE DIR: load MODULE, copy both files into DIR, unload.
read_with() {
	mkdir -p "$2/mnt" &&
		run insmod "$1" &&
		run mount -t bpf bpf "$2/mnt" &&
		cat "$2/mnt/maps.debug" >"$2/maps" &&
		cat "$2/mnt/progs.debug" >"$2/progs" &&
		run umount "$2/mnt" &&
		run rmmod $MODNAME &&
		wait_iterators_gone
}
t_same_as_c_module() {
	if [ ! -f "$C_MODULE" ]; then
		# The host says why it built none (check-vm.sh).
		SKIP_REASON=$(cat "${C_MODULE%/*}/none" 2>/dev/null) ||
			SKIP_REASON="no build of the kernel's own module at $C_MODULE"
		return 4
	fi
	mod_loaded && { diag "precondition: module not loaded"; return 1; }
	# Objects of the test's own, alive through both reads.
	mkfifo "$TMP/hold.in" || return 1
	"$BIN/bpf_churn" hold <"$TMP/hold.in" >"$TMP/hold.out" &
	exec 4>"$TMP/hold.in"
	_ok=0
	poll grep -q holding "$TMP/hold.out" || { diag "bpf_churn hold did not start"; _ok=1; }
	[ $_ok -ne 0 ] || read_with "$C_MODULE" "$TMP/c" || _ok=1
	[ $_ok -ne 0 ] || read_with "$MODULE" "$TMP/ours" || _ok=1
	exec 4>&-
	wait
	[ $_ok -eq 0 ] || return 1
	for _f in maps progs; do
		for _m in c ours; do
			grep -qE '^ *[0-9]+ churn_(map|prog) ' "$TMP/$_m/$_f" ||
				{ diag "$_m: $_f.debug does not list the held churn object"; _ok=1; }
			grep -vE '^ *[0-9]+ (iterator\.rodata|__loader\.map|dump_bpf_map|dump_bpf_prog) ' \
				"$TMP/$_m/$_f" >"$TMP/$_m/$_f.others"
		done
		if cmp -s "$TMP/c/$_f.others" "$TMP/ours/$_f.others"; then
			diag "$_f.debug: $(wc -l <"$TMP/ours/$_f.others") lines the same"
		else
			diag "$_f.debug differs from the C module's (C first, then ours):"
			diag_file -e "$TMP/c/$_f"
			diag_file -e "$TMP/ours/$_f"
			_ok=1
		fi
	done
	return $_ok
}

t_autoload() {
	if mod_loaded; then
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
	mod_loaded || { diag "/sys/module/$MODNAME missing: not autoloaded"; _ok=1; }
	for _f in maps.debug progs.debug; do
		[ -f "$TMP/auto/$_f" ] || { diag "$_f missing"; _ok=1; }
	done
	[ $_ok -eq 0 ] || return 1
	run debug_ok "$TMP/auto"
}

t_autoload_cleanup() {
	_ok=0
	if is_mounted "$TMP/auto"; then
		run umount "$TMP/auto" || _ok=1
	fi
	if mod_loaded; then
		run rmmod $MODNAME || _ok=1
	fi
	rm -f "$EXTRA/$MODNAME.ko"
	run depmod || _ok=1
	mod_loaded && { diag "module still loaded"; _ok=1; }
	wait_iterators_gone || _ok=1
	return $_ok
}

t_insmod_twice() {
	if mod_loaded; then
		diag "precondition: module not loaded"
		return 1
	fi
	run "$BIN/kmod_load" "$MODULE" || return 1
	_ok=0
	run "$BIN/kmod_load" -e EEXIST "$MODULE" || _ok=1
	mod_loaded || { diag "module gone after the second insmod"; _ok=1; }
	_st=$(cat /sys/module/$MODNAME/initstate 2>&1)
	[ "$_st" = live ] || { diag "initstate: $_st"; _ok=1; }
	# The loaded module still serves new mounts.
	mount_serves "$TMP/again" || _ok=1
	run rmmod $MODNAME || _ok=1
	wait_iterators_gone || _ok=1
	return $_ok
}

# One reader: mount a fresh bpffs, check whatever debug files it got, umount;
# $2 rounds. Every mount that has a file appends to stress.$1.seen, every
# one whose files passed debug_ok to stress.$1.valid. Output only on
# failure.
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
			echo "$_i" >>"$_d.seen"
			if debug_ok "$_d" >"$_d.out" 2>&1; then
				echo "$_i" >>"$_d.valid"
			else
				echo "reader $1 round $_i:"
				cat "$_d.out"
			fi
		fi
		umount "$_d" || { echo "reader $1: umount failed"; return 1; }
	done
}

# lines FILE: its number of lines, 0 if it does not exist.
lines() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# Every reader has had at least one mount with valid debug files.
all_readers_served() {
	for _k in 1 2 3; do
		[ -s "$TMP/stress.$_k.valid" ] || return 1
	done
}

t_stress() {
	if mod_loaded; then
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
		rm -f "$TMP"/stress.*.seen "$TMP"/stress.*.valid
		for _k in 1 2 3; do
			stress_reader "$_k" 10 >"$TMP/stress.$_k.log" 2>&1 &
		done
		# Unload once every reader got valid files, while they go on
		# mounting. EBUSY while a mount holds a reference on the
		# module is fine, so retry for up to 5 s.
		if ! poll all_readers_served; then
			diag "round $_r: within 5 s of insmod not every reader got valid debug files"
			_ok=1
		fi
		if ! poll rmmod $MODNAME 2>/dev/null; then
			diag "round $_r: rmmod kept failing"
			_ok=1
		fi
		wait
		for _k in 1 2 3; do
			_s=$(lines "$TMP/stress.$_k.seen")
			_v=$(lines "$TMP/stress.$_k.valid")
			_seen=$((_seen + _s))
			if [ "$_v" -eq 0 ]; then
				diag "round $_r: reader $_k never got the debug files while the module was loaded"
				_ok=1
			fi
			if [ "$_v" -ne "$_s" ]; then
				diag "round $_r: reader $_k: $_s mount(s) with debug files, only $_v valid"
				_ok=1
			fi
			if [ -s "$TMP/stress.$_k.log" ]; then
				diag "round $_r:"
				diag_file "$TMP/stress.$_k.log"
				_ok=1
			fi
		done
		[ $_ok -eq 0 ] || break
	done
	diag "$_r round(s) of insmod, 3 concurrent mount/read/umount loops, rmmod"
	diag "$_seen of $((_r * 30)) mounts got the debug files, each checked"
	mod_loaded && rmmod $MODNAME
	wait_iterators_gone || _ok=1
	return $_ok
}

t_dmesg() { klog_clean "$KLOG_BAD"; }

# name|description, in running order.
VARIANT=$(maps_variant 2>&1)
TESTS="
insmod|insmod $MODULE succeeds
mount|mount bpffs at $MNT
modes|maps.debug and progs.debug exist with mode 0400 (-r--------)
maps_format|maps.debug header and rows match the $VARIANT format of kernel $KREL
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
same_as_c_module|the kernel's own C module and ours list the same objects byte for byte
autoload|bpffs mount without insmod autoloads the module installed with depmod
autoload_cleanup|umount and rmmod after autoload free the iterators
insmod_twice|insmod while loaded fails with EEXIST, loaded module keeps working
stress|insmod/rmmod racing concurrent bpffs mounts and reads
dmesg|dmesg has no WARNING, BUG, Oops or Call Trace
"

cmd_check() {
	mkdir -p "$TMP" || exit 1
	klog_start
	if [ "$BUILTIN" = 1 ]; then
		_what="preload built in"
	else
		_what="module $MODULE"
	fi
	# Leftovers of an earlier run (e.g. `run.sh show`).
	is_mounted "$MNT" && umount "$MNT"
	mod_loaded && rmmod $MODNAME
	KTAP_PRE=builtin_skip
	ktap_run "$TESTS" "kernel $KREL, $_what"
	_rc=$?
	# Leave the VM as we found it.
	is_mounted "$MNT" && umount "$MNT"
	mod_loaded && rmmod $MODNAME
	rm -rf "$TMP"
	return $_rc
}

cmd_show() {
	_rc=0
	if [ "$BUILTIN" != 1 ] && ! mod_loaded; then
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
