#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# boot-check.sh autoload|modules-load: boot-time loading of an installed
# bpf_preload.ko (KTAP), as the VM's /run-in-vm right after /init mounted
# proc, sysfs and devtmpfs. autoload mounts bpffs first thing, as systemd
# does: the kernel must load the module (request_module). modules-load does
# what systemd-modules-load does with modules-load.d (make install
# BOOTLOAD=1): the module must be loaded before any bpffs exists.

MODE=${1:-}
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
MODDIR=/lib/modules/$KREL
# The module's own error line ("bpf_preload: <step> failed: <errno>") too.
KLOG_BAD="$KLOG_BAD|$MODNAME: .* failed: -"

# The state before anything else happens; for autoload the mount comes
# right after, before the first line of output.
suite_start
if mod_loaded; then pre_loaded=yes; else pre_loaded=no; fi
if is_mounted; then pre_mounted=yes; else pre_mounted=no; fi
case $MODE in
autoload)
	mkdir -p $MNT
	mount -t bpf bpf $MNT >"$TMP/mount.out" 2>&1
	mount_rc=$?
	MODE_TESTS="not_preloaded|module not loaded and no bpffs before the first mount
mount|first thing: mount -t bpf bpf $MNT
autoloaded|the mount loaded the module (request_module)"
	;;
modules-load)
	MODE_TESTS="not_preloaded|module not loaded and no bpffs at boot
listed|modules-load.d lists $MODNAME
modules_load|modprobe every listed module (systemd-modules-load)
loaded_without_mount|module loaded from the list, before any bpffs mount
mount|mount -t bpf bpf $MNT"
	;;
*) usage "autoload|modules-load" ;;
esac

t_installed() {
	_files=$(installed_copies | sort)
	diag "installed: $(echo "$_files" | tr '\n' ' ')"
	[ "$(echo "$_files" | grep -c .)" -eq 1 ] ||
		{ diag "want exactly one $MODNAME.ko* under $MODDIR"; return 1; }
	_rel=${_files#"$MODDIR"/}
	grep "^$_rel:" "$MODDIR/modules.dep" | sed 's/^/#   modules.dep: /' | grep . ||
		{ diag "$_rel is not in modules.dep (depmod not run?)"; return 1; }
}

t_not_preloaded() {
	[ $pre_loaded = no ] || fail "$MODNAME was loaded before the test began"
	[ $pre_mounted = no ] || fail "a bpffs was mounted before the test began"
}

# modules-load.d as systemd-modules-load reads it: *.conf files in these
# directories, a file name in an earlier directory hiding the same name in
# later ones; one module name per line, '#' and ';' start comments.
modules_load_list() {
	_seen=" "
	for _f in /etc/modules-load.d/*.conf /run/modules-load.d/*.conf \
		/usr/local/lib/modules-load.d/*.conf /usr/lib/modules-load.d/*.conf \
		/lib/modules-load.d/*.conf; do
		[ -f "$_f" ] || continue
		case $_seen in *" ${_f##*/} "*) continue ;; esac
		_seen="$_seen${_f##*/} "
		sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$_f" | grep -v -e '^$' -e '^#' -e '^;'
	done
}

t_listed() {
	_list=$(modules_load_list)
	diag "modules-load.d lists: $(echo "$_list" | tr '\n' ' ')"
	echo "$_list" | grep -qx $MODNAME
}

t_modules_load() {
	for _m in $(modules_load_list); do
		run modprobe "$_m" || fail
	done
}

t_loaded_without_mount() {
	mod_loaded || fail "/sys/module/$MODNAME missing"
	! is_mounted || fail "a bpffs is mounted: the list did not load it"
}

t_mount() {
	[ "$MODE" = autoload ] || { mount_at $MNT; return; }
	diag_file "$TMP/mount.out"
	return "$mount_rc"
}

t_autoloaded() { loaded_ok "after the mount: not autoloaded"; }

t_files() { files_ok "$MNT"; }
t_content() { run debug_ok $MNT; }

ktap_suite "
installed|module installed and in modules.dep
$MODE_TESTS
files|maps.debug and progs.debug present, mode 0400
content|maps.debug and progs.debug list the iterators
dmesg|no warning or error in dmesg" "boot-check: $MODE on $KREL"
