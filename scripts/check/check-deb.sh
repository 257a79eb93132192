#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-deb.sh   (make check-deb) the Debian package, end to end, in a fresh
#                chroot of every release in $SUITES
#
#   1. make deb (scripts/pkg/deb-build.sh), once
#   per release (bookworm, trixie, sid, ...; its -backports in $SUITES adds
#   that suite's kernel as the release's second kernel):
#   2. a fresh minimal chroot of the release (scripts/kernel/chroot.sh
#      fresh: debootstrap's result, the release's apt sources)
#   3. install the release's first kernel and its headers, then
#      `apt-get install ./bpf-preload-dkms_<version>_all.deb`: it must pull a
#      C++ compiler DKMS can use, and its postinst must have DKMS build and
#      install the module, zero warnings in make.log, indexed by depmod
#   4. a new kernel arrives (the release's next one, e.g. 6.12 on bookworm or
#      trixie-backports' on trixie): install it and its headers; DKMS's
#      kernel hooks must build and install the module for it
#   5. "reboot": boot each kernel under QEMU with the module files DKMS
#      installed; tests/boot-check.sh autoload mounts /sys/fs/bpf first thing
#      and must find maps.debug and progs.debug
#   6. apt-get purge removes the module from every kernel and the sources
#   7. the same DKMS flow from a checkout: make dkms-add, dkms install,
#      make dkms-remove
#
# Downloaded .debs are kept per release in
# ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/deb-archives/. Records
# "P F S" in $BPF_PRELOAD_RESULT if set.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
cd "$TOP"
[ "$(id -u)" -eq 0 ] || { echo "check-deb.sh: run as root" >&2; exit 1; }

cache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/deb-archives
work=$TOP/build/deb-chroot
version=$(scripts/pkg/dkms-source.sh --version)
results_begin deb

# A step that later ones of the same release depend on: on failure, count
# it and return non-zero.
must() { # must <description> <log> <command>...
	local desc=$1 log=$2 rc=0 t=$SECONDS
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log" | sed 's/^/  | /'
		result fail "$desc (exit status $rc, log $log)"
		return 1
	fi
	result ok "$desc ($((SECONDS - t)) s)"
}

in_chroot() {
	scripts/kernel/chroot.sh run "$release" --root "$chr" "$@"
}
apt_in_chroot() {
	in_chroot apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root \
		--no-install-recommends "$@"
}
keep_downloads() { # keep_downloads from|to
	mkdir -p "$cache/$release"
	if [ "$1" = from ]; then
		cp -l -n "$cache/$release/"*.deb "$chr/var/cache/apt/archives/" 2>/dev/null || true
	else
		cp -l -n "$chr/var/cache/apt/archives/"*.deb "$cache/$release/" 2>/dev/null || true
	fi
}
modules_of() { # modules_of KVER: our module files under the chroot's modules dir
	find "$chr/usr/lib/modules/$1" "$chr/lib/modules/$1" -name 'bpf_preload.ko*' 2>/dev/null |
		sed "s|^$chr/||; s|^usr/||" | sort -u
}

# dkms_ok <kernel>: DKMS built and installed the module for <kernel>,
# make.log shows the link and no warning, and depmod indexed it.
dkms_ok() {
	local k=$1 rc=0 status mlog ko
	status=$(in_chroot dkms status -m bpf-preload -v "$version" -k "$k" 2>/dev/null)
	echo "  | dkms status: $status"
	[[ $status == *": installed"* ]] || { echo "  | not installed for $k"; rc=1; }
	mlog=$chr/var/lib/dkms/bpf-preload/$version/$k/x86_64/log/make.log
	if [ -f "$mlog" ]; then
		grep -Eq 'LD \[M\] +(.*/)?bpf_preload\.ko$' "$mlog" || { echo "  | $mlog: no link step"; rc=1; }
		if grep -i warning "$mlog"; then rc=1; fi
	else
		echo "  | no $mlog"
		rc=1
	fi
	ko=$(modules_of "$k" | head -n 1)
	echo "  | module: ${ko:-none}"
	[[ $ko == lib/modules/$k/updates/dkms/bpf_preload.ko* ]] || rc=1
	grep -q '^updates/dkms/bpf_preload\.ko[.a-z]*:' "$chr/lib/modules/$k/modules.dep" 2>/dev/null ||
		{ echo "  | not in lib/modules/$k/modules.dep"; rc=1; }
	return "$rc"
}

# Boots <kernel> with what DKMS installed; nobody types a command.
boot() { # boot <suite> <kernel>
	kernel_begin
	boot_one "$@"
	kernel_end "$1" "$2"
}
boot_one() {
	local k=$2 dir=$work/$release/vm-$2 ko
	ko=$(modules_of "$k" | head -n 1)
	[ -n "$ko" ] || { result fail "$k: boot: no module installed in the chroot"; return 0; }
	kernel_use "$1" "$k" || { result fail "$1 $k: fetch image"; return 0; }
	rm -rf "$dir" && mkdir -p "$dir/root/${ko%/*}"
	cp "$chr/$ko" "$dir/root/$ko"
	# The kernel's module metadata, as on an installed system (depmod
	# reads it); its modules themselves are not needed.
	cp "$K_MODDIR"/modules.{order,builtin,builtin.modinfo} "$dir/root/lib/modules/$k/"
	vm_suite "$release $k: boot with the module DKMS installed" "$dir" \
		/tests/boot-check.sh autoload -- --timeout 300
}

# The whole flow for one release and its kernels ("SUITE ABI" lines).
release_flow() {
	local first=$1 second=${2:-} s1 k1 s2="" k2=""
	read -r s1 k1 <<<"$first"
	[ -z "$second" ] || read -r s2 k2 <<<"$second"
	chr=$work/$release/root
	echo "deb: $release: kernels $k1 (installed first)${k2:+ and $k2 (the update)}"

	must "$release: fresh chroot" "$work/$release/fresh.log" \
		scripts/kernel/chroot.sh fresh "$release" "$chr" || return 0
	# A throwaway chroot: dpkg need not fsync every file it unpacks.
	echo force-unsafe-io >"$chr/etc/dpkg/dpkg.cfg.d/90bpf-preload-test"
	keep_downloads from
	must "$release: apt-get update" "$work/$release/apt-update.log" apt_in_chroot update || return 0

	# 3. A kernel and its headers, as a user has them, then the package.
	# (DKMS indexes the module only for a kernel whose modules are there.)
	must "$release: install linux-image-$k1 and its headers" "$work/$release/apt-headers-1.log" \
		apt_in_chroot install "linux-image-$k1" "linux-headers-$k1" || return 0
	keep_downloads to
	cp "$deb" "$chr/tmp/"
	must "$release: apt-get install ./${deb##*/}" "$work/$release/apt-install-deb.log" \
		apt_in_chroot install "/tmp/${deb##*/}" || return 0
	keep_downloads to
	sed -n '/^Setting up bpf-preload-dkms/,$p' "$work/$release/apt-install-deb.log" | sed 's/^/  | /'
	check "$release: ... DKMS built and installed it for $k1, zero warnings, indexed" dkms_ok "$k1"

	# 4. A new kernel.
	if [ -n "$k2" ]; then
		# From backports the way its users do it: apt-get -t <suite>.
		local from=()
		[[ $s2 != *-backports ]] || from=(-t "$s2")
		must "$release: new kernel: install linux-image-$k2 and its headers${from[*]:+ (${from[*]})}" \
			"$work/$release/apt-headers-2.log" \
			apt_in_chroot install "${from[@]}" "linux-image-$k2" "linux-headers-$k2" || return 0
		keep_downloads to
		grep -iE 'dkms|bpf-preload' "$work/$release/apt-headers-2.log" | head -n 20 | sed 's/^/  | /'
		check "$release: ... DKMS autoinstalled it for $k2, zero warnings, indexed" dkms_ok "$k2"
	else
		result skip "$release: a new kernel arrives: no second kernel of $release in SUITES='$SUITES'"
	fi

	# 5. Boot each kernel.
	boot "$s1" "$k1"
	[ -z "$k2" ] || boot "$s2" "$k2"

	# 6. Removal; first, what there is to remove.
	local kernels=("$k1" ${k2:+"$k2"}) k
	check "$release: ... (before purging: the module installed for each kernel)" \
		test "$(for k in "${kernels[@]}"; do modules_of "$k"; done | wc -l)" -eq "${#kernels[@]}"
	must "$release: apt-get purge bpf-preload-dkms" "$work/$release/apt-purge.log" \
		apt_in_chroot purge bpf-preload-dkms || return 0
	check "$release: ... no bpf_preload.ko left under /lib/modules" \
		test -z "$(for k in "${kernels[@]}"; do modules_of "$k"; done)"
	check "$release: ... modules.dep of every kernel updated" \
		eval "! grep -q bpf_preload $(for k in "${kernels[@]}"; do printf "'%s' " "$chr/lib/modules/$k/modules.dep"; done)"
	check "$release: ... /usr/src/bpf-preload-$version and DKMS's record removed" \
		test ! -e "$chr/usr/src/bpf-preload-$version" -a ! -e "$chr/var/lib/dkms/bpf-preload"

	# 7. DKMS from a checkout, without the package: make dkms-add, dkms
	# install, make dkms-remove (dkms itself stays installed after the purge).
	mkdir -p "$chr/root/src/mk"
	scripts/pkg/dkms-source.sh "$chr/root/src"
	mkdir -p "$chr/root/src/scripts/pkg"
	cp scripts/pkg/dkms-source.sh "$chr/root/src/scripts/pkg/"
	cp mk/install.mk "$chr/root/src/mk/"
	must "$release: checkout: make dkms-add" "$work/$release/dkms-add.log" \
		in_chroot make -C /root/src dkms-add || return 0
	must "$release: ... dkms install bpf-preload/$version -k $k1" "$work/$release/dkms-install.log" \
		in_chroot dkms install "bpf-preload/$version" -k "$k1" || return 0
	check "$release: ... DKMS built and installed it for $k1, zero warnings, indexed" dkms_ok "$k1"
	must "$release: ... make dkms-remove" "$work/$release/dkms-remove.log" \
		in_chroot make -C /root/src dkms-remove || return 0
	check "$release: ... module, /usr/src/bpf-preload-$version and DKMS's record gone" \
		eval "[ -z \"\$(modules_of '$k1')\" ] && [ ! -e '$chr/usr/src/bpf-preload-$version' ] && [ ! -e '$chr/var/lib/dkms/bpf-preload' ]"
	rm -rf --one-file-system "$chr"
}

rm -rf --one-file-system "$work"
mkdir -p "$work"
test_programs

# 1. The package.
must "make deb: bpf-preload-dkms_${version}_all.deb" "$work/deb-build.log" \
	scripts/pkg/deb-build.sh "$work" || results_end
deb=$work/bpf-preload-dkms_${version}_all.deb
check "... Depends on dkms (dh_dkms)" eval "dpkg-deb -f '$deb' Depends | grep -q 'dkms'"
dpkg-deb -c "$deb" >"$work/deb-contents.txt"
# Every file of the module's source list, where dkms.conf says DKMS finds
# them (dh_dkms writes a dkms.conf of its own even when none are there).
ships_sources() {
	local f
	for f in $(scripts/pkg/dkms-source.sh --list); do
		grep -q " \./usr/src/bpf-preload-$version/$f\$" "$work/deb-contents.txt" ||
			{ echo "  | not in the package: /usr/src/bpf-preload-$version/$f"; return 1; }
	done
}
check "... ships the module's sources in /usr/src/bpf-preload-$version/" ships_sources

mapfile -t matrix < <(kernel_matrix) || true
((${#matrix[@]})) || result fail "kernel matrix of SUITES='$SUITES'"
# Releases in the order of SUITES; each with its kernels, backports last.
releases=()
for entry in "${matrix[@]}"; do
	r=${entry%% *}
	r=${r%-backports}
	[[ " ${releases[*]} " == *" $r "* ]] || releases+=("$r")
done
for release in "${releases[@]}"; do
	mkdir -p "$work/$release"
	mapfile -t kernels < <(printf '%s\n' "${matrix[@]}" | awk -v r="$release" \
		'$1 == r { print } $1 == r "-backports" { b[++n] = $0 } END { for (i = 1; i <= n; i++) print b[i] }')
	# The first kernel, and the last other one as the update.
	update=""
	if ((${#kernels[@]} > 1)); then update=${kernels[-1]}; fi
	release_flow "${kernels[0]}" "$update"
done
results_end
