#!/bin/sh
# run.sh check [big|little] | no-btf | show: the bpf_preload test suite
# (tests/README.md), KTAP, in the test VM as root; with a byte order, also
# that the kernel and user space have it. no-btf: on a kernel without BTF
# (Debian's s390x 6.1) the module must fail cleanly. show: what a user sees.
# The autoload test installs the module under /lib/modules (removed after).
# BPF_PRELOAD_BUILTIN=1: the preload is built in.

# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
EXTRA=/lib/modules/$KREL/extra
BUILTIN=${BPF_PRELOAD_BUILTIN:-0}

# Built in, the tests that load, unload or install a module are skipped.
MODULE_TESTS="insmod|rmmod_mounted|after_rmmod|iterators_freed|no_module_mount|same_as_c_module"
MODULE_TESTS="$MODULE_TESTS|autoload|autoload_cleanup|insmod_twice|stress|module_btf"
t_builtin() { skip "built into the kernel: no module to load, unload or install"; }

t_insmod() { run insmod "$MODULE" && loaded_ok "after insmod"; }

t_mount() {
	mount_at "$MNT" || return 1
	is_mounted "$MNT" || { diag "$MNT not in /proc/mounts"; return 1; }
}

t_modes() { files_ok "$MNT"; }
t_maps_rodata() { run "$BIN/debug_check" --print --map iterator.rodata maps "$MNT/maps.debug"; }

t_format() {
	run "$BIN/debug_check" "$1" "$MNT/$1.debug" || fail
	diag_file -e "$MNT/$1.debug"
}

t_progs_iters() {
	run "$BIN/debug_check" --print --prog dump_bpf_map:bpf_iter_bpf_map \
		--prog dump_bpf_prog:bpf_iter_bpf_prog progs "$MNT/progs.debug"
}

t_long_name() { run "$BIN/long_name" "$MNT/progs.debug"; }
t_abi() { run "$BIN/abi_check"; }

t_module_btf() {
	grep -q '\.BTF' "$MODULE" ||
		skip "the module has no BTF: its kernel's headers ship no vmlinux" || return
	bpftool btf dump file "/sys/kernel/btf/$MODNAME" -B /sys/kernel/btf/vmlinux >"$TMP/btf" 2>&1 ||
		{ fail "bpftool btf dump: exit status $?" "$TMP/btf"; return; }
	grep "FUNC 'bpf_preload_ops_cmpxchg'" "$TMP/btf" >"$OUT" || fail "no FUNC bpf_preload_ops_cmpxchg"
	diag_file "$OUT"
}

t_cross_check() {
	run "$BIN/debug_check" --cross-check maps "$MNT/maps.debug" &&
		run "$BIN/debug_check" --cross-check progs "$MNT/progs.debug"
}

t_small_reads() {
	for _f in maps.debug progs.debug; do
		# Twice, in case an object (e.g. __loader.map) went away between
		# the two reads of the first attempt.
		for _try in 1 2; do
			cat "$MNT/$_f" >"$TMP/big" 2>&1
			dd if="$MNT/$_f" of="$TMP/small" bs=1 2>/dev/null
			cmp -s "$TMP/big" "$TMP/small" && break
		done
		same "$TMP/big" "$TMP/small" "$_f: a large read, then 1-byte reads" || fail
		diag "$_f: $(wc -c <"$TMP/small") bytes by 1-byte reads"
	done
}

t_bpftool_progs() { iter_progs_ok; }
t_bpftool_links() { iter_links_ok && run "$BIN/bpf_objs" links; }
t_bpffs_ops() { run "$BIN/bpffs_ops" "$TMP"; }

t_rmmod_mounted() {
	cat "$MNT/maps.debug" >"$TMP/maps.before" 2>&1
	cat "$MNT/progs.debug" >"$TMP/progs.before" 2>&1
	# Kept open across rmmod, read in the next test. (A redirection that
	# fails on exec would end the shell: check first.)
	[ -r "$MNT/progs.debug" ] || { diag "$MNT/progs.debug: cannot read"; return 1; }
	exec 3<"$MNT/progs.debug"
	run rmmod $MODNAME || return 1
	not_loaded || { diag "/sys/module/$MODNAME still exists"; return 1; }
}

# Rows for our own objects (the rest may come and go, e.g. __loader.map or
# bpftool's short-lived pid iterator).
our_rows() { grep -hE '^ *[0-9]+ (iterator\.rodata|dump_bpf_map|dump_bpf_prog) ' "$@"; }

t_after_rmmod() {
	cat <&3 >"$TMP/progs.fd3" 2>&1
	exec 3<&-
	unloaded_first || return 1
	same "$TMP/progs.before" "$TMP/progs.fd3" \
		"progs.debug opened before rmmod, read after it" || return 1
	run debug_ok "$MNT" || return 1
	our_rows "$TMP/maps.before" "$TMP/progs.before" >"$TMP/rows.before"
	our_rows "$MNT/maps.debug" "$MNT/progs.debug" >"$TMP/rows.after"
	same "$TMP/rows.before" "$TMP/rows.after" \
		"rows for iterator.rodata/dump_bpf_* changed across rmmod" || return 1
	diag "same rows before and after rmmod:"
	diag_file -e "$TMP/rows.after"
}

t_umount() {
	run umount "$MNT" || return 1
	! is_mounted "$MNT" || { diag "$MNT still mounted"; return 1; }
}

t_iterators_freed() {
	unloaded_first || return 1
	! is_mounted "$MNT" || { diag "precondition: $MNT unmounted"; return 1; }
	wait_iterators_gone || return 1
	run "$BIN/bpf_objs" progs
}

# Without the module installed anywhere, a mount autoloads nothing (so that
# the autoload test really tests autoloading).
t_no_module_mount() {
	! installed_copies | grep -q . ||
		skip "a $MODNAME module is already installed in /lib/modules/$KREL" || return
	unloaded_first || return 1
	no_debug_files "$TMP/none" || fail
	not_loaded || { fail "$MODNAME got loaded although it is not installed"; rmmod $MODNAME; }
}

# The kernel's own C module (when the host built one) and ours, in turn, over
# the same objects: both files the same but for each module's own rows (the
# C module's light skeleton also leaves a short-lived __loader.map).
C_MODULE=/c_module/bpf_preload.ko
read_with() { run insmod "$1" && with_mount "$2/mnt" copy_files "$2" && unload; }
copy_files() { cat "$2/maps.debug" >"$1/maps" && cat "$2/progs.debug" >"$1/progs"; }
t_same_as_c_module() {
	[ -f "$C_MODULE" ] || skip "$(cat "${C_MODULE%/*}/none" 2>/dev/null ||
		echo "no build of the kernel's own module at $C_MODULE")" || return
	unloaded_first || return 1
	# Objects of the test's own, alive through both reads.
	{ hold_start && read_with "$C_MODULE" "$TMP/c" && read_with "$MODULE" "$TMP/ours"; } || fail
	hold_stop || fail
	[ "$KTAP_FAILED" -eq 0 ] || return 1
	for _f in maps progs; do
		for _m in c ours; do
			grep -qE '^ *[0-9]+ churn_(map|prog) ' "$TMP/$_m/$_f" ||
				fail "$_m: $_f.debug does not list the held churn object"
			grep -vE '^ *[0-9]+ (iterator\.rodata|__loader\.map|dump_bpf_map|dump_bpf_prog) ' \
				"$TMP/$_m/$_f" >"$TMP/$_m/$_f.others"
		done
		same "$TMP/c/$_f.others" "$TMP/ours/$_f.others" \
			"$_f.debug differs from the C module's (C first, then ours)" || fail
		diag "$_f.debug: $(wc -l <"$TMP/ours/$_f.others") lines besides the modules' own"
	done
}

t_autoload() {
	unloaded_first || return 1
	diag "modprobe helper: $(cat /proc/sys/kernel/modprobe 2>&1)"
	mkdir -p "$EXTRA" && run cp "$MODULE" "$EXTRA/$MODNAME.ko" || return 1
	run depmod || return 1
	grep "$MODNAME" "/lib/modules/$KREL/modules.dep" | sed 's/^/#   modules.dep: /'
	mount_at "$TMP/auto" || return 1
	run ls -la "$TMP/auto"
	mod_loaded || fail "/sys/module/$MODNAME missing: not autoloaded"
	run debug_ok "$TMP/auto"
}

t_autoload_cleanup() {
	! is_mounted "$TMP/auto" || run umount "$TMP/auto" || fail
	not_loaded || run rmmod $MODNAME || fail
	rm -f "$EXTRA/$MODNAME.ko"
	run depmod || fail
	not_loaded || fail "module still loaded"
	wait_iterators_gone
}

t_insmod_twice() {
	unloaded_first || return 1
	run "$BIN/kmod_load" "$MODULE" || return 1
	run "$BIN/kmod_load" -e EEXIST "$MODULE" || fail
	mod_loaded || fail "module gone after the second insmod"
	_st=$(cat /sys/module/$MODNAME/initstate 2>&1)
	[ "$_st" = live ] || fail "initstate: $_st"
	mount_serves "$TMP/again" || fail
	unload
}

# The kernel's byte order from the magic number starting its BTF (0xeb9f in
# its order), user space's from the 16-bit number it reads in the bytes 01 00.
t_kernel_order() {
	_k=$(od -An -tx1 -N2 /sys/kernel/btf/vmlinux | tr -d ' \n')
	_u=$(printf '\001\000' | od -An -tu2 | tr -d ' \n')
	diag "$(uname -m): kernel BTF magic bytes $_k, bytes 01 00 read as $_u"
	[ "$ORDER:$_k:$_u" = big:eb9f:256 ] || [ "$ORDER:$_k:$_u" = little:9feb:1 ]
}

t_no_btf() {
	[ -e /sys/kernel/btf/vmlinux ] || { diag "no /sys/kernel/btf/vmlinux"; return 0; }
	diag "/sys/kernel/btf/vmlinux exists: run run.sh check on this kernel"
	return 1
}

# insmod must fail, say why in one bpf_preload line, and leave nothing.
t_module_fails() {
	insmod_refused "$MODULE"
	grep -q "$MODNAME: .* failed: " "$TMP/klog.new" ||
		fail "no '$MODNAME: <step> failed: <err>' line in dmesg"
	wait_iterators_gone
}

t_stress() {
	unloaded_first || return 1
	_r=0 _seen=0
	while [ "$_r" -lt 10 ] && [ "$KTAP_FAILED" -eq 0 ]; do
		_r=$((_r + 1))
		run insmod "$MODULE" || { fail "round $_r: insmod failed"; break; }
		rm -f "$TMP"/stress.*.*
		for _k in 1 2 3; do
			mount_loop "$TMP/stress.$_k" 10 debug_ok >"$TMP/stress.$_k.log" 2>&1 &
		done
		# Unload once every reader got valid files, while they go on
		# mounting (EBUSY while a mount holds the module: retried).
		poll test -s "$TMP/stress.1.valid" -a -s "$TMP/stress.2.valid" -a -s "$TMP/stress.3.valid" ||
			fail "round $_r: within 5 s of insmod not every reader got valid debug files"
		poll rmmod $MODNAME 2>/dev/null || fail "round $_r: rmmod kept failing"
		wait
		for _k in 1 2 3; do
			_s=$(lines "$TMP/stress.$_k.seen")
			_v=$(lines "$TMP/stress.$_k.valid")
			_seen=$((_seen + _s))
			[ "$_v" -gt 0 ] ||
				fail "round $_r: reader $_k never got the debug files while the module was loaded"
			[ "$_v" -eq "$_s" ] ||
				fail "round $_r: reader $_k: $_s mount(s) with debug files, only $_v valid"
			[ ! -s "$TMP/stress.$_k.log" ] || { diag_logs "$TMP/stress.$_k.log"; fail; }
		done
	done
	diag "$_r round(s) of insmod, 3 concurrent mount/read/umount loops, rmmod"
	diag "$_seen of $((_r * 30)) mounts got the debug files, each checked"
	not_loaded || rmmod $MODNAME
	wait_iterators_gone
}

# name|description, in running order. debug_check knows the maps.debug
# variant of this kernel (t::maps_variant() in common.hpp).
ORDER=${2:-}
VARIANT=$("$BIN/debug_check" --expected-variant 2>&1)
DMESG="dmesg|dmesg has no WARNING, BUG, Oops or Call Trace"
TESTS="
insmod|insmod $MODULE succeeds
mount|mount bpffs at $MNT
modes|maps.debug and progs.debug exist with mode 0400 (-r--------)
format maps|maps.debug header and rows match the $VARIANT format of kernel $KREL
format progs|progs.debug header and rows match the format
maps_rodata|maps.debug lists the iterator.rodata map
progs_iters|progs.debug lists dump_bpf_map on bpf_iter_bpf_map and dump_bpf_prog on bpf_iter_bpf_prog
cross_check|maps.debug and progs.debug rows agree with the bpf() syscall
long_name|progs.debug shows a program's whole BTF function name, and the kernel's 15 characters without BTF
abi|bpf_preload.h's structs have the running kernel's layout (its BTF)
module_btf|the module's BTF is in /sys/kernel/btf and bpftool dumps the glue's functions
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
${ORDER:+kernel_order|the kernel and user space are $ORDER-endian}
$DMESG
"

# show CMD...: CMD as the user typed it, then its output; fails the show.
show() {
	echo "\$ $*"
	"$@" || _rc=1
}

case ${1:-}:$ORDER in
check: | check:big | check:little)
	# Leftovers of an earlier run (e.g. `run.sh show`).
	! is_mounted "$MNT" || umount "$MNT"
	not_loaded || rmmod $MODNAME
	if [ "$BUILTIN" = 1 ]; then
		ktap_suite "$(echo "$TESTS" | sed -E "s/^($MODULE_TESTS)\|/builtin|/")" \
			"kernel $KREL, preload built in"
	else
		ktap_suite "$TESTS" "kernel $KREL, module $MODULE"
	fi
	;;
no-btf:)
	ktap_suite "
no_btf|the kernel has no BTF (/sys/kernel/btf/vmlinux)
module_fails|insmod fails cleanly: an error, a bpf_preload '<step> failed' line, nothing left loaded
no_module_mount|a bpffs mount then has no debug files
$DMESG" "kernel $KREL, module $MODULE"
	;;
show:)
	_rc=0
	[ "$BUILTIN" = 1 ] || mod_loaded || show insmod "$MODULE"
	is_mounted "$MNT" || show mount -t bpf bpf "$MNT"
	show cat "$MNT/maps.debug"
	show cat "$MNT/progs.debug"
	show bpftool prog show
	exit $_rc
	;;
*) usage "check [big|little] | no-btf | show" ;;
esac
