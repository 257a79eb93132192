#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-check.sh    (make check-install) tests `make install` and
#                     `make uninstall`, then boots each kernel with the
#                     installed module and checks it gets loaded at boot
#
# For every kernel of $SUITES (built in its suite's chroot), in a copy of the sources under
# build/install/<abi>/ (the working tree gets no build products):
#   - make install DESTDIR=... KDIR=...: the module under
#     /lib/modules/<abi>/updates/, depmod's index lists it, no modules-load.d
#   - make install DESTDIR=... KVER=<abi> BOOTLOAD=1: KDIR follows KVER, and
#     /etc/modules-load.d/bpf_preload.conf names the module
#   - make install into a bare staging DESTDIR: no depmod there
#   - make uninstall: both files gone, the index no longer lists the module
#   - make install / uninstall without DESTDIR, in a private mount namespace
#     whose /lib/modules/<abi> and /etc/modules-load.d are scratch
#     directories: the real paths and plain `depmod -a`, host untouched
#   - boot the kernel with the first install tree; tests/boot-check.sh
#     autoload mounts /sys/fs/bpf first thing and finds the files (no insmod)
#   - boot it with the BOOTLOAD=1 tree; tests/boot-check.sh modules-load
#     loads the module from modules-load.d as systemd-modules-load would
# Records "P F S" in $BPF_PRELOAD_RESULT if set.
set -euo pipefail

# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
cd "$TOP"
top=$TOP

# The no-DESTDIR test runs this script's `ns-install` step in a private
# mount namespace: ns-install <install|uninstall> <abi> <kdir> <src> <scratch>
if [ "${1:-}" = ns-install ]; then
	op=$2 abi=$3 kdir=$4 src=$5 scratch=$6
	mkdir -p "$scratch/modules" "$scratch/modules-load.d" "/lib/modules/$abi" /etc/modules-load.d
	mount --bind "$scratch/modules" "/lib/modules/$abi"
	mount --bind "$scratch/modules-load.d" /etc/modules-load.d
	if [ "$op" = install ]; then
		exec make -C "$src" install KDIR="$kdir" BOOTLOAD=1
	else
		exec make -C "$src" uninstall KDIR="$kdir"
	fi
fi

# step <description> <log> <command>...: runs the command with its output in
# <log> (and shown indented); passes if it succeeds without any warning.
step() {
	local desc=$1 log=$2 rc=0
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	sed 's/^/  | /' "$log"
	if [ "$rc" -ne 0 ]; then
		echo "  (exit status $rc)"
	elif grep -i 'warning' "$log"; then
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then result ok "$desc, zero warnings"; else result fail "$desc, zero warnings"; fi
}
listed() { grep -q "^updates/bpf_preload.ko:" "$1/modules.dep"; }
vermagic_is() { [ "$(/sbin/modinfo -F vermagic "$1" | cut -d' ' -f1)" = "$2" ]; }
conf_names_module() { grep -qx bpf_preload "$1"; }

# boot <mode> <tree>: boots K_ABI with the install tree <tree> and
# tests/boot-check.sh <mode> as /run-in-vm.
boot() {
	local dir=build/install/$K_ABI/vm-$1
	rm -rf "$dir" && mkdir -p "$dir/root"
	cp -a "$2/." "$dir/root/"
	vm_suite "$K_ABI: boot $1" "$dir" /tests/boot-check.sh "$1" -- --timeout 300
}

test_programs

# Every test of one kernel (after kernel_use).
check_kernel() { # check_kernel SUITE ABI
	local abi=$2 kd moddir w mods d b u sc
	kd=$K_KDIR moddir=$K_MODDIR
	w=$top/build/install/$abi
	rm -rf "$w"
	mkdir -p "$w/src/mk"
	scripts/pkg/dkms-source.sh "$w/src"
	mkdir -p "$w/src/scripts/pkg"
	cp scripts/pkg/dkms-source.sh "$w/src/scripts/pkg/"
	cp mk/install.mk "$w/src/mk/"
	mods=lib/modules/$abi
	# Each DESTDIR is a system image of this kernel: its modules metadata,
	# which depmod reads (without it depmod warns about a tree that is not
	# a kernel's). The kernel's own modules are not needed for the tests.
	seed() {
		mkdir -p "$1"
		for f in modules.order modules.builtin modules.builtin.modinfo; do
			cp "$moddir/$f" "$1/"
		done
	}
	seed "$w/dest/$mods"
	seed "$w/dest-bootload/$mods"
	seed "$w/scratch/modules"

	# 1. DESTDIR and KDIR.
	d=$w/dest
	step "$abi: make install KDIR=... DESTDIR=..." "$w/install.log" \
		in_build_env make -C "$w/src" install KDIR="$kd" DESTDIR="$d"
	check "$abi: ... module at $mods/updates/bpf_preload.ko" test -f "$d/$mods/updates/bpf_preload.ko"
	check "$abi: ... built for $abi (vermagic)" vermagic_is "$d/$mods/updates/bpf_preload.ko" "$abi"
	check "$abi: ... depmod ran: modules.dep lists it" listed "$d/$mods"
	check "$abi: ... no modules-load.d entry without BOOTLOAD=1" test ! -e "$d/etc/modules-load.d/bpf_preload.conf"

	# 2. KVER alone selects the kernel; BOOTLOAD=1.
	b=$w/dest-bootload
	step "$abi: make install KVER=$abi BOOTLOAD=1 DESTDIR=..." "$w/install-bootload.log" \
		in_build_env make -C "$w/src" install KVER="$abi" DESTDIR="$b" BOOTLOAD=1
	check "$abi: ... KDIR=/lib/modules/$abi/build from KVER" \
		grep -q "make -C \"/lib/modules/$abi/build\"" "$w/install-bootload.log"
	check "$abi: ... module installed and indexed" listed "$b/$mods"
	check "$abi: ... /etc/modules-load.d/bpf_preload.conf names bpf_preload" \
		conf_names_module "$b/etc/modules-load.d/bpf_preload.conf"

	# A bare DESTDIR is a staging area: no index made there.
	step "$abi: make install DESTDIR=<staging dir>" "$w/install-staging.log" \
		in_build_env make -C "$w/src" install KVER="$abi" DESTDIR="$w/dest-staging"
	check "$abi: ... module installed, depmod left to the target" \
		test -f "$w/dest-staging/$mods/updates/bpf_preload.ko" -a ! -e "$w/dest-staging/$mods/modules.dep"

	# 3. uninstall, from a copy of the BOOTLOAD=1 tree.
	u=$w/dest-uninstall
	cp -a "$b" "$u"
	check "$abi: ... (before uninstalling: module, entry and index there)" \
		test -f "$u/$mods/updates/bpf_preload.ko" -a -f "$u/etc/modules-load.d/bpf_preload.conf" \
		-a -n "$(grep bpf_preload "$u/$mods/modules.dep")"
	step "$abi: make uninstall KVER=$abi DESTDIR=..." "$w/uninstall.log" \
		in_build_env make -C "$w/src" uninstall KVER="$abi" DESTDIR="$u"
	check "$abi: ... module and modules-load.d entry removed" \
		test ! -e "$u/$mods/updates/bpf_preload.ko" -a ! -e "$u/etc/modules-load.d/bpf_preload.conf"
	check "$abi: ... modules.dep no longer lists it" eval "! grep -q bpf_preload '$u/$mods/modules.dep'"

	# 4. No DESTDIR: the real paths, over scratch directories.
	sc=$w/scratch
	step "$abi: make install BOOTLOAD=1 (no DESTDIR; private mount namespace)" \
		"$w/install-system.log" in_build_env unshare --mount --propagation unchanged \
		"$0" ns-install install "$abi" "$kd" "$w/src" "$sc"
	check "$abi: ... /lib/modules/$abi/updates/bpf_preload.ko, indexed by depmod -a" \
		listed "$sc/modules"
	check "$abi: ... /etc/modules-load.d/bpf_preload.conf" \
		conf_names_module "$sc/modules-load.d/bpf_preload.conf"
	step "$abi: make uninstall (no DESTDIR)" "$w/uninstall-system.log" \
		in_build_env unshare --mount --propagation unchanged \
		"$0" ns-install uninstall "$abi" "$kd" "$w/src" "$sc"
	check "$abi: ... both files gone, modules.dep updated" \
		eval "[ ! -e '$sc/modules/updates/bpf_preload.ko' ] && [ ! -e '$sc/modules-load.d/bpf_preload.conf' ] && ! grep -q bpf_preload '$sc/modules/modules.dep'"

	# 5. and 6. Loading at boot.
	boot autoload "$d"
	boot modules-load "$b"
}

results_begin install
for_each_kernel check_kernel
results_end
