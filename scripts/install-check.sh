#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-check.sh    (make check-install) tests `make install` and
#                     `make uninstall`, then boots each kernel with the
#                     installed module and checks it gets loaded at boot
#
# For Debian's newest 6.1 and 6.12 kernels, in a copy of the sources under
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
# Records "<passed> <failed>" in $BPF_PRELOAD_RESULT if set.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

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

passed=0
failed=0
result() { # result <0|1> <description>
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1)); echo "install: ok - $2"
	else
		failed=$((failed + 1)); echo "install: FAIL - $2"
	fi
}
check() { # check <description> <command>...: passes if the command does
	local desc=$1 rc=0
	shift
	"$@" || rc=1
	result "$rc" "$desc"
}
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
	result "$rc" "$desc, zero warnings"
}
listed() { grep -q "^updates/bpf_preload.ko:" "$1/modules.dep"; }
vermagic_is() { [ "$(/sbin/modinfo -F vermagic "$1" | cut -d' ' -f1)" = "$2" ]; }
conf_names_module() { grep -qx bpf_preload "$1"; }

# boot <abi> <vmlinuz> <mode> <tree>: boots with the install tree <tree> and
# tests/boot-check.sh <mode> as /run-in-vm; adds the guest's KTAP totals.
boot() {
	local abi=$1 vmlinuz=$2 mode=$3 tree=$4
	local w=build/install/$abi root=build/install/$abi/vm-$3
	rm -rf "$root" && mkdir -p "$root/tests"
	cp -a "$tree/." "$root/"
	cp -r tests/boot-check.sh tests/bin "$root/tests/"
	printf '#!/bin/sh\nexec /tests/boot-check.sh %s\n' "$mode" >"$root/run-in-vm"
	chmod +x "$root/run-in-vm"
	scripts/mkinitramfs.sh --out "$w/initrd-$mode.cpio.gz" --root "$root" \
		--kver "$abi" >/dev/null
	local rc=0
	scripts/vm.sh --kernel "$vmlinuz" --initrd "$w/initrd-$mode.cpio.gz" \
		--timeout 300 --log "$w/vm-$mode.log" || rc=$?
	local totals
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$w/vm-$mode.log" | tail -1)
	if [ -z "$totals" ]; then
		result 1 "$abi: boot-check.sh $mode ran to completion (vm.sh rc $rc)"
		return
	fi
	local p f
	read -r p f <<<"$totals"
	echo "install: $abi: boot $mode: $p passed, $f failed in the VM"
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$rc" -eq 0 ] || [ "$f" -ne 0 ] || result 1 "$abi: boot $mode: VM exit status $rc"
}

make -C tests >/dev/null

for s in 6.1 6.12; do
	abi=$(scripts/debian-kernel.sh abi "$s")
	eval "$(scripts/debian-kernel.sh fetch "$abi")"
	# shellcheck disable=SC2154 # kdir and vmlinuz come from fetch
	kd=$kdir vm=$vmlinuz
	w=$top/build/install/$abi
	rm -rf "$w"
	mkdir -p "$w/src/mk"
	scripts/dkms-source.sh "$w/src"
	cp scripts/dkms-source.sh "$w/src/scripts/"
	cp mk/install.mk "$w/src/mk/"
	mods=lib/modules/$abi
	# Each DESTDIR is a system image of this kernel: its modules metadata,
	# which depmod reads (without it depmod warns about a tree that is not
	# a kernel's). The kernel's own modules are not needed for the tests.
	# shellcheck disable=SC2154 # moddir comes from fetch
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
		make -C "$w/src" install KDIR="$kd" DESTDIR="$d"
	check "$abi: ... module at $mods/updates/bpf_preload.ko" test -f "$d/$mods/updates/bpf_preload.ko"
	check "$abi: ... built for $abi (vermagic)" vermagic_is "$d/$mods/updates/bpf_preload.ko" "$abi"
	check "$abi: ... depmod ran: modules.dep lists it" listed "$d/$mods"
	check "$abi: ... no modules-load.d entry without BOOTLOAD=1" test ! -e "$d/etc/modules-load.d/bpf_preload.conf"

	# 2. KVER alone selects the kernel; BOOTLOAD=1.
	b=$w/dest-bootload
	step "$abi: make install KVER=$abi BOOTLOAD=1 DESTDIR=..." "$w/install-bootload.log" \
		make -C "$w/src" install KVER="$abi" DESTDIR="$b" BOOTLOAD=1
	check "$abi: ... KDIR=/lib/modules/$abi/build from KVER" \
		grep -q "make -C \"/lib/modules/$abi/build\"" "$w/install-bootload.log"
	check "$abi: ... module installed and indexed" listed "$b/$mods"
	check "$abi: ... /etc/modules-load.d/bpf_preload.conf names bpf_preload" \
		conf_names_module "$b/etc/modules-load.d/bpf_preload.conf"

	# A bare DESTDIR is a staging area: no index made there.
	step "$abi: make install DESTDIR=<staging dir>" "$w/install-staging.log" \
		make -C "$w/src" install KVER="$abi" DESTDIR="$w/dest-staging"
	check "$abi: ... module installed, depmod left to the target" \
		test -f "$w/dest-staging/$mods/updates/bpf_preload.ko" -a ! -e "$w/dest-staging/$mods/modules.dep"

	# 3. uninstall, from a copy of the BOOTLOAD=1 tree.
	u=$w/dest-uninstall
	cp -a "$b" "$u"
	step "$abi: make uninstall KVER=$abi DESTDIR=..." "$w/uninstall.log" \
		make -C "$w/src" uninstall KVER="$abi" DESTDIR="$u"
	check "$abi: ... module and modules-load.d entry removed" \
		test ! -e "$u/$mods/updates/bpf_preload.ko" -a ! -e "$u/etc/modules-load.d/bpf_preload.conf"
	check "$abi: ... modules.dep no longer lists it" eval "! grep -q bpf_preload '$u/$mods/modules.dep'"

	# 4. No DESTDIR: the real paths, over scratch directories.
	sc=$w/scratch
	step "$abi: make install BOOTLOAD=1 (no DESTDIR; private mount namespace)" \
		"$w/install-system.log" unshare --mount --propagation private \
		"$0" ns-install install "$abi" "$kd" "$w/src" "$sc"
	check "$abi: ... /lib/modules/$abi/updates/bpf_preload.ko, indexed by depmod -a" \
		listed "$sc/modules"
	check "$abi: ... /etc/modules-load.d/bpf_preload.conf" \
		conf_names_module "$sc/modules-load.d/bpf_preload.conf"
	step "$abi: make uninstall (no DESTDIR)" "$w/uninstall-system.log" \
		unshare --mount --propagation private \
		"$0" ns-install uninstall "$abi" "$kd" "$w/src" "$sc"
	check "$abi: ... both files gone, modules.dep updated" \
		eval "[ ! -e '$sc/modules/updates/bpf_preload.ko' ] && [ ! -e '$sc/modules-load.d/bpf_preload.conf' ] && ! grep -q bpf_preload '$sc/modules/modules.dep'"

	# 5. and 6. Loading at boot.
	boot "$abi" "$vm" autoload "$d"
	boot "$abi" "$vm" modules-load "$b"
done

echo "install: $passed passed, $failed failed"
[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$passed $failed" >"$BPF_PRELOAD_RESULT"
[ "$failed" -eq 0 ]
