#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# secureboot.sh integrity|confidentiality: the module under UEFI Secure Boot,
# in the VM that scripts/check/check-secureboot.sh boots through Debian's
# signed shim, grub and kernel, with DKMS's signed build installed and the
# test builds in /secureboot/ (KTAP; tests/README.md).

MODE=${1:-}
# shellcheck source=lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
SB=/secureboot
EFIVARS=/sys/firmware/efi/efivars
BOOT_LOG=/tmp/boot.dmesg # /run-in-vm keeps it before any suite clears the log

t_secure_boot() {
	[ -d /sys/firmware/efi ] || { diag "not booted through UEFI"; return 1; }
	grep -q " $EFIVARS efivarfs " /proc/mounts ||
		{ run modprobe efivarfs && run mount -t efivarfs efivarfs $EFIVARS; } || return 1
	# 4 bytes of attributes, then the value (efivarfs reads whole).
	_sb=$(od -An -tu1 "$EFIVARS/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	diag "EFI variable SecureBoot, attributes and value: ${_sb:-unreadable}"
	grep -i 'secure boot' "$BOOT_LOG" | diag_file
	# shellcheck disable=SC2086 # the bytes as words
	set -- $_sb
	[ $# -eq 5 ] && [ "$5" = 1 ]
}

t_lockdown() {
	grep -q ' securityfs ' /proc/mounts || run mount -t securityfs securityfs /sys/kernel/security
	_ld=$(cat /sys/kernel/security/lockdown)
	diag "/sys/kernel/security/lockdown: $_ld"
	grep -i 'lockdown' "$BOOT_LOG" | diag_file
	case $_ld in *"[$MODE]"*) ;; *) return 1 ;; esac
}

# The kernel loaded DKMS's certificate from shim's MokListRT.
t_mok() {
	grep -E 'integrity: |X.509' "$BOOT_LOG" | diag_file
	grep -q "Loaded X.509 cert 'DKMS module signing key" "$BOOT_LOG"
}

# refused KO LINE: insmod KO fails with EKEYREJECTED, the kernel logs LINE,
# none of the module's code ran and nothing of it is left.
refused() {
	insmod_refused "$1"
	grep -q 'Key was rejected by service' "$OUT" || fail "insmod did not fail with EKEYREJECTED"
	grep -qx "$2" "$TMP/klog.new" || fail "the kernel did not log: $2"
	! grep -q "$MODNAME" "$TMP/klog.new" || fail "the module's own code ran"
	iterators_gone || fail "iterator programs or links exist"
	! bpftool map show 2>/dev/null | grep -q 'iterator.rodata' || fail "a map iterator.rodata exists"
}

# Every light skeleton's loader program begins with bpf_probe_read_kernel
# (lockdown_probe.cpp), which confidentiality refuses: there the kernel's C
# module (a light skeleton) cannot load; ours runs no loader program.
t_loader() { run "$BIN/lockdown_probe" "$PROBE"; }

t_unsigned() { refused $SB/unsigned.ko 'Loading of unsigned module is rejected'; }
t_wrongkey() { refused $SB/wrongkey.ko 'Loading of module with unavailable key is rejected'; }

# load_measured WHAT CMD...: CMD loads a module, then "# measured:" lines:
# the kernel's, and if it loaded, what the bpffs at MNT serves; both removed
# after. Status 0 if it serves valid files, or if nothing loaded and the
# kernel said why; SERVED=1 when it served. The kernel rate-limits its
# lockdown notices (10 in 5 s), which the boot uses up: 6 s without any.
load_measured() {
	sleep 6
	klog_drain
	_w=$1
	shift
	run "$@"
	sed "s/^/# measured: $_w: $1: /" "$OUT"
	! mod_loaded || is_mounted $MNT || mount_at $MNT
	klog_drain
	sed "s/^/# measured: $_w: kernel: /" "$TMP/klog.new"
	_m=0 SERVED=0
	if ! mod_loaded; then
		echo "# measured: $_w: not loaded"
		[ -s "$TMP/klog.new" ] || _m=1
	elif has_files $MNT && rows_ok $MNT >"$TMP/rows" 2>&1; then
		echo "# measured: $_w: loaded, serves valid maps.debug and progs.debug"
		SERVED=1
		sed "s/^/# measured: $_w: progs.debug: /" $MNT/progs.debug
	else
		diag_file "$TMP/rows"
		find $MNT -mindepth 1 | sed "s/^/# measured: $_w: in the mount: /"
		echo "# measured: $_w: loaded, but the mount has no valid files"
		_m=1
	fi
	! is_mounted $MNT || umount $MNT
	! mod_loaded || rmmod_retry $MODNAME
	return $_m
}

# The C module by insmod (a mount first would autoload ours). Ours, signed
# and installed, is loaded by the first bpffs mount, and under
# confidentiality it must serve, without BTF names, and say so once.
t_c_module() { load_measured "C module" insmod $SB/c_module.ko; }
t_ours() {
	load_measured ours mount -t bpf bpf $MNT || return 1
	[ "$SERVED" = 1 ] || fail "ours did not serve"
	grep -qx "$MODNAME: lockdown: loaded without BTF names; progs.debug shows 15-character names" \
		"$TMP/klog.new" || fail "no lockdown line in the kernel log"
	! grep -q "^$MODNAME: .*failed" "$TMP/klog.new" || fail "a failed step in the kernel log"
}

case $MODE in
integrity)
	PROBE=allowed
	MODE_TESTS="
loader|a light skeleton's loader program (bpf_probe_read_kernel) loads
unsigned|an unsigned build is refused, nothing left
wrongkey|a build signed with a key not enrolled is refused, nothing left
dmesg|no warning or error in dmesg"
	;;
confidentiality)
	PROBE=refused
	MODE_TESTS="
loader|a light skeleton's loader program is refused, one without bpf_probe_read_kernel loads
c_module|the kernel's C module, signed with DKMS's key: measured
ours|ours, autoloaded by the first bpffs mount, serves without BTF names"
	;;
*) usage "integrity|confidentiality" ;;
esac
ktap_suite "
secure_boot|Secure Boot on (EFI variable SecureBoot = 1)
lockdown|lockdown is $MODE
mok|the kernel loaded DKMS's key from the MOK list
$MODE_TESTS" "secureboot: $MODE on $KREL"
