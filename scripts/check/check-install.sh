#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-install.sh   (make check-install) per kernel of $SUITES, from a
#                    checkout copy in the suite's chroot: `make install` and
#                    `make uninstall` into DESTDIRs and, without one, in a
#                    private mount namespace; boots with the installed module
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"

listed() { grep -q "^updates/bpf_preload.ko:" "$1/modules.dep"; }
vermagic_is() { [ "$(/sbin/modinfo -F vermagic "$1" | cut -d' ' -f1)" = "$2" ]; }
conf_names_module() { grep -qx bpf_preload "$1"; }

boot() { # boot MODE TREE: K_ABI with install tree TREE, tests/boot-check.sh MODE
	local dir=build/install/$K_ABI/vm-$1
	rm -rf "$dir" && mkdir -p "$dir/root"
	cp -a "$2/." "$dir/root/"
	vm_suite "$K_ABI: boot $1" "$dir" "/tests/boot-check.sh $1" -- --timeout 300
}

check_kernel() { # check_kernel SUITE ABI
	local abi=$2 w=$TOP/build/install/$2 mods=lib/modules/$2 x
	local d=$w/dest b=$w/dest-bootload u=$w/dest-uninstall sc=$w/scratch
	# make without DESTDIR: in the build environment's mount namespace,
	# /lib/modules/ABI and /etc/modules-load.d are scratch's directories.
	local scratch=(--bind "$sc/modules:/lib/modules/$abi"
		--bind "$sc/modules-load.d:/etc/modules-load.d")
	rm -rf "$w"
	checkout_copy "$w/src"
	# Each DESTDIR is a system image (else depmod warns).
	for x in "$d/$mods" "$b/$mods" "$sc/modules"; do kernel_metadata "$x"; done
	mkdir -p "$sc/modules-load.d"

	clean "$abi: make install KDIR=... DESTDIR=..., zero warnings" "$w/install.log" \
		in_build_env make -C "$w/src" install KDIR="$K_KDIR" DESTDIR="$d"
	check "$abi: ... module at $mods/updates/bpf_preload.ko" test -f "$d/$mods/updates/bpf_preload.ko"
	check "$abi: ... built for $abi (vermagic)" vermagic_is "$d/$mods/updates/bpf_preload.ko" "$abi"
	check "$abi: ... depmod ran: modules.dep lists it" listed "$d/$mods"
	check "$abi: ... no modules-load.d entry without BOOTLOAD=1" \
		absent "$d/etc/modules-load.d/bpf_preload.conf"

	clean "$abi: make install KVER=$abi BOOTLOAD=1 DESTDIR=..., zero warnings" "$w/install-bootload.log" \
		in_build_env make -C "$w/src" install KVER="$abi" DESTDIR="$b" BOOTLOAD=1
	check "$abi: ... KDIR=/lib/modules/$abi/build from KVER" \
		grep -q "make -C \"/lib/modules/$abi/build\"" "$w/install-bootload.log"
	check "$abi: ... module installed and indexed" listed "$b/$mods"
	check "$abi: ... /etc/modules-load.d/bpf_preload.conf names bpf_preload" \
		conf_names_module "$b/etc/modules-load.d/bpf_preload.conf"

	# A bare DESTDIR is a staging area: no index made there.
	clean "$abi: make install DESTDIR=<staging dir>, zero warnings" "$w/install-staging.log" \
		in_build_env make -C "$w/src" install KVER="$abi" DESTDIR="$w/dest-staging"
	check "$abi: ... module installed, depmod left to the target" \
		test -f "$w/dest-staging/$mods/updates/bpf_preload.ko" -a ! -e "$w/dest-staging/$mods/modules.dep"

	cp -a "$b" "$u"
	check "$abi: ... (before uninstalling: module, entry and index there)" \
		test -f "$u/$mods/updates/bpf_preload.ko" -a -f "$u/etc/modules-load.d/bpf_preload.conf" \
		-a -n "$(grep bpf_preload "$u/$mods/modules.dep")"
	clean "$abi: make uninstall KVER=$abi DESTDIR=..., zero warnings" "$w/uninstall.log" \
		in_build_env make -C "$w/src" uninstall KVER="$abi" DESTDIR="$u"
	check "$abi: ... module and modules-load.d entry removed" \
		absent "$u/$mods/updates/bpf_preload.ko" "$u/etc/modules-load.d/bpf_preload.conf"
	check "$abi: ... modules.dep no longer lists it" unlisted "$u/$mods/modules.dep"

	clean "$abi: make install BOOTLOAD=1 (no DESTDIR; private mount namespace), zero warnings" \
		"$w/install-system.log" in_build_env "${scratch[@]}" \
		make -C "$w/src" install KDIR="$K_KDIR" BOOTLOAD=1
	check "$abi: ... /lib/modules/$abi/updates/bpf_preload.ko, indexed by depmod -a" \
		listed "$sc/modules"
	check "$abi: ... /etc/modules-load.d/bpf_preload.conf" \
		conf_names_module "$sc/modules-load.d/bpf_preload.conf"
	clean "$abi: make uninstall (no DESTDIR), zero warnings" "$w/uninstall-system.log" \
		in_build_env "${scratch[@]}" make -C "$w/src" uninstall KDIR="$K_KDIR"
	check "$abi: ... both files gone, modules.dep updated" \
		eval "absent '$sc/modules/updates/bpf_preload.ko' '$sc/modules-load.d/bpf_preload.conf' &&
			unlisted '$sc/modules/modules.dep'"

	boot autoload "$d"
	boot modules-load "$b"
}

results_begin install
test_programs || results_end
for_each_kernel check_kernel
results_end
