#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# boot-check.sh autoload|modules-load    boot-time loading of an installed
#                                        bpf_preload.ko, in the test VM (KTAP)
#
# Runs as the VM's /run-in-vm, that is right after /init mounted proc, sysfs
# and devtmpfs, on a kernel whose /lib/modules/$(uname -r) holds the module
# as an installer left it (make install, or DKMS from the Debian package) and
# indexed by depmod. Nothing loads the module explicitly except as below.
#
#   autoload       mounts bpffs at /sys/fs/bpf first thing, as systemd does
#                  at boot: the kernel must load the module itself
#                  (request_module) and the mount must show maps.debug and
#                  progs.debug.
#   modules-load   does what systemd-modules-load does with modules-load.d
#                  (make install BOOTLOAD=1): the module must be loaded from
#                  that list before any bpffs exists; a mount then shows the
#                  files.
#
# Needs bin/debug_check next to this script. Prints KTAP with a
# "# Totals:" line; exits 0 only if every test passed.

MODE=${1:-}
MODNAME=bpf_preload
MNT=/sys/fs/bpf
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/bin
KREL=$(uname -r)
MODDIR=/lib/modules/$KREL

module_loaded() { [ -d /sys/module/$MODNAME ]; }
bpffs_mounted() { grep -q ' bpf ' /proc/mounts; }

# The state before anything else happens; for autoload the mount comes
# right after, before the first line of output.
dmesg >/tmp/dmesg.before 2>&1
if module_loaded; then pre_loaded=yes; else pre_loaded=no; fi
if bpffs_mounted; then pre_mounted=yes; else pre_mounted=no; fi
case $MODE in
autoload)
	mkdir -p $MNT
	mount -t bpf bpf $MNT >/tmp/mount.out 2>&1
	mount_rc=$?
	;;
modules-load) ;;
*)
	echo "usage: $0 autoload|modules-load" >&2
	exit 2
	;;
esac

num=0
pass=0
fail=0
diag() { printf '# %s\n' "$*"; }
result() { # result <0|1> <description>
	num=$((num + 1))
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $num $2"
	else
		fail=$((fail + 1))
		echo "not ok $num $2"
	fi
}
run() {
	diag "\$ $*"
	"$@" >/tmp/run.out 2>&1
	_rc=$?
	sed 's/^/#   /' /tmp/run.out
	[ "$_rc" -eq 0 ] || diag "(exit status $_rc)"
	return "$_rc"
}

# The module file under /lib/modules and its modules.dep entry.
t_installed() {
	_files=$(find "$MODDIR" -name "$MODNAME.ko*" | sort)
	diag "installed: $(echo "$_files" | tr '\n' ' ')"
	[ "$(echo "$_files" | grep -c .)" -eq 1 ] || {
		diag "want exactly one $MODNAME.ko* under $MODDIR"
		return 1
	}
	_rel=${_files#"$MODDIR"/}
	grep "^$_rel:" "$MODDIR/modules.dep" | sed 's/^/#   modules.dep: /'
	grep -q "^$_rel:" "$MODDIR/modules.dep" || {
		diag "$_rel is not in modules.dep (depmod not run?)"
		return 1
	}
}

t_not_preloaded() {
	_ok=0
	[ $pre_loaded = no ] || { diag "$MODNAME was loaded before the test began"; _ok=1; }
	[ $pre_mounted = no ] || { diag "a bpffs was mounted before the test began"; _ok=1; }
	return $_ok
}

# modules-load.d as systemd-modules-load reads it: *.conf files in these
# directories, a file name in an earlier directory hiding the same name in
# later ones; one module name per line, '#' and ';' start comments.
MODULES_LOAD_DIRS="/etc/modules-load.d /run/modules-load.d /usr/local/lib/modules-load.d /usr/lib/modules-load.d /lib/modules-load.d"
modules_load_list() {
	_seen=" "
	for _d in $MODULES_LOAD_DIRS; do
		for _f in "$_d"/*.conf; do
			[ -f "$_f" ] || continue
			_b=${_f##*/}
			case $_seen in *" $_b "*) continue ;; esac
			_seen="$_seen$_b "
			sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$_f" |
				grep -v -e '^$' -e '^#' -e '^;'
		done
	done
}

t_listed() {
	_list=$(modules_load_list)
	diag "modules-load.d lists: $(echo "$_list" | tr '\n' ' ')"
	echo "$_list" | grep -qx $MODNAME
}

t_modules_load() {
	_ok=0
	for _m in $(modules_load_list); do
		run modprobe "$_m" || _ok=1
	done
	return $_ok
}

t_loaded_without_mount() {
	_ok=0
	module_loaded || { diag "/sys/module/$MODNAME missing"; _ok=1; }
	bpffs_mounted && { diag "a bpffs is mounted: the list did not load it"; _ok=1; }
	return $_ok
}

t_mount() {
	if [ "$MODE" = autoload ]; then
		sed 's/^/#   /' /tmp/mount.out
		return "$mount_rc"
	fi
	mkdir -p $MNT
	run mount -t bpf bpf $MNT
}

t_autoloaded() {
	module_loaded || { diag "/sys/module/$MODNAME missing: not loaded by the mount"; return 1; }
	diag "initstate: $(cat /sys/module/$MODNAME/initstate 2>&1)"
}

t_files() {
	run ls -la $MNT
	_ok=0
	for _f in maps.debug progs.debug; do
		if [ ! -f "$MNT/$_f" ]; then
			diag "$_f missing"
			_ok=1
			continue
		fi
		_mode=$(stat -c %A "$MNT/$_f")
		[ "$_mode" = "-r--------" ] || { diag "$_f mode $_mode"; _ok=1; }
	done
	return $_ok
}

t_content() {
	run "$BIN/debug_check" --map iterator.rodata maps $MNT/maps.debug &&
		run "$BIN/debug_check" --prog dump_bpf_map:bpf_iter_bpf_map \
			--prog dump_bpf_prog:bpf_iter_bpf_prog progs $MNT/progs.debug
}

# Kernel messages since the test began: the module's own error line
# ("bpf_preload: <step> failed: <errno>") or any warning, bug or oops.
BAD='WARNING|BUG|Oops|Call Trace|bpf_preload: .* failed: -'
t_dmesg() {
	dmesg >/tmp/dmesg.all 2>&1
	_n=$(wc -l </tmp/dmesg.before)
	tail -n +$((_n + 1)) /tmp/dmesg.all >/tmp/dmesg.new
	if grep -Eq "$BAD" /tmp/dmesg.before; then
		diag "already in dmesg before the test (not counted):"
		grep -E "$BAD" /tmp/dmesg.before | sed 's/^/#   /'
	fi
	grep "$MODNAME" /tmp/dmesg.new | sed 's/^/#   dmesg: /'
	if grep -E "$BAD" /tmp/dmesg.new >/tmp/bad.out; then
		sed 's/^/#   /' /tmp/bad.out
		return 1
	fi
}

echo "KTAP version 1"
diag "boot-check: $MODE on $KREL"
if [ "$MODE" = autoload ]; then
	echo "1..7"
	t_installed; result $? "module installed and in modules.dep"
	t_not_preloaded; result $? "module not loaded and no bpffs before the first mount"
	t_mount; result $? "first thing: mount -t bpf bpf $MNT"
	t_autoloaded; result $? "the mount loaded the module (request_module)"
	t_files; result $? "maps.debug and progs.debug present, mode 0400"
	t_content; result $? "maps.debug and progs.debug list the iterators"
	t_dmesg; result $? "no warning or error in dmesg"
else
	echo "1..9"
	t_installed; result $? "module installed and in modules.dep"
	t_not_preloaded; result $? "module not loaded and no bpffs at boot"
	t_listed; result $? "modules-load.d lists $MODNAME"
	t_modules_load; result $? "modprobe every listed module (systemd-modules-load)"
	t_loaded_without_mount; result $? "module loaded from the list, before any bpffs mount"
	t_mount; result $? "mount -t bpf bpf $MNT"
	t_files; result $? "maps.debug and progs.debug present, mode 0400"
	t_content; result $? "maps.debug and progs.debug list the iterators"
	t_dmesg; result $? "no warning or error in dmesg"
fi
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" -eq 0 ]
