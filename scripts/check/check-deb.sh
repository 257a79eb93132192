#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-chroot-test.sh   (make check-deb) the Debian package, end to end, in a
#                      fresh Debian chroot
#
#   1. make deb (scripts/pkg/deb-build.sh)
#   2. debootstrap a minimal Debian of the host's release (Debian's
#      debootstrap package, the host's Debian mirror) into
#      build/deb-chroot/root (or unpack that of the last 24 hours, kept as a
#      tarball), give it the host's Debian apt sources
#   3. install the headers of Debian's newest 6.1 kernel, then
#      `apt-get install ./bpf-preload-dkms_<version>_all.deb`: its postinst
#      must have DKMS build and install the module for that kernel, with
#      zero warnings in DKMS's make.log, and depmod index it
#   4. a new kernel arrives: install the headers (and with them the image)
#      of Debian's newest 6.12 kernel; DKMS's kernel hooks must build and
#      install the module for it (AUTOINSTALL), again warning-free
#   5. "reboot": boot each kernel under QEMU with the module files DKMS
#      installed in the chroot; tests/boot-check.sh autoload mounts
#      /sys/fs/bpf first thing and must find maps.debug and progs.debug
#   6. apt-get purge removes the module from every kernel and the sources
#   7. the same DKMS flow from a checkout: make dkms-add, dkms install,
#      make dkms-remove
#
# The chroot's update-initramfs is replaced by a stub: nothing boots from the
# chroot, and building initramfs images is not what is tested. Downloaded
# .debs are kept in ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/deb-chroot
# between runs. Runs in a private mount namespace, so the chroot's /proc goes
# away with it. Records "<passed> <failed>" in $BPF_PRELOAD_RESULT if set.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "deb-chroot-test.sh: run as root" >&2; exit 1; }
if [ "${BPF_PRELOAD_DEB_NS:-}" != 1 ]; then
	export BPF_PRELOAD_DEB_NS=1
	exec unshare --mount --propagation private "$0" "$@"
fi

cache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/deb-chroot
work=$top/build/deb-chroot
chr=$work/root
start=$SECONDS

passed=0
failed=0
result() { # result <0|1> <description>
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1)); echo "deb: ok - $2"
	else
		failed=$((failed + 1)); echo "deb: FAIL - $2"
	fi
}
check() { # check <description> <command>...
	local desc=$1 rc=0
	shift
	"$@" || rc=1
	result "$rc" "$desc"
}
finish() {
	echo "deb: $passed passed, $failed failed ($((SECONDS - start)) s)"
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$passed $failed" >"$BPF_PRELOAD_RESULT"
	[ "$failed" -eq 0 ]
	exit
}
# A step that later ones depend on: on failure, count it and stop.
must() { # must <description> <log> <command>...
	local desc=$1 log=$2 rc=0 t=$SECONDS
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log" | sed 's/^/  | /'
		result 1 "$desc (exit status $rc, log $log)"
		finish
	fi
	result 0 "$desc ($((SECONDS - t)) s)"
}

in_chroot() {
	chroot "$chr" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# shellcheck disable=SC2317 # run through must
apt_in_chroot() {
	in_chroot apt-get -y -o Dpkg::Use-Pty=0 --no-install-recommends "$@"
}

umount_all() {
	if mountpoint -q "$chr/proc"; then umount -l "$chr/proc"; fi
}
trap umount_all EXIT

for p in debootstrap dpkg-dev; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends "$p" >/dev/null
	fi
done

codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
old=$(scripts/kernel/debian-kernel.sh abi 6.1)
new=$(scripts/kernel/debian-kernel.sh abi 6.12)
version=$(scripts/pkg/dkms-source.sh --version)
echo "deb: Debian $codename; kernels $old (installed first) and $new (the update)"

rm -rf --one-file-system "$work"
mkdir -p "$work" "$cache/debs" "$cache/archives"

# 1. The package.
must "make deb: bpf-preload-dkms_${version}_all.deb" "$work/deb-build.log" \
	scripts/pkg/deb-build.sh "$work"
deb=$work/bpf-preload-dkms_${version}_all.deb
check "... Depends on dkms (dh_dkms)" eval "dpkg-deb -f '$deb' Depends | grep -q 'dkms'"
dpkg-deb -c "$deb" >"$work/deb-contents.txt"
check "... ships /usr/src/bpf-preload-$version/dkms.conf" \
	grep -q " \./usr/src/bpf-preload-$version/dkms.conf\$" "$work/deb-contents.txt"

# 2. A fresh chroot, with the host's Debian package sources.
# shellcheck disable=SC2016 # apt's $(FIELD) placeholders
mapfile -t targets < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
	'Identifier: Packages' | awk -v c="$codename" '$2 == c || index($2, c "-") == 1' | sort -u)
mirror=$(printf '%s\n' "${targets[@]}" | awk -v c="$codename" '$2 == c { print $1; exit }')
[ -n "$mirror" ] || { result 1 "a Debian $codename mirror in the host's apt sources"; finish; }
# debootstrap's result is kept as a tarball for a day (apt upgrades what
# changed since): unpacking it is a minute faster than debootstrap, and
# the chroot is as pristine. BPF_PRELOAD_DEB_BASE_MAX_AGE=0 forces a run.
base=$cache/base-$codename.tar
max_age=${BPF_PRELOAD_DEB_BASE_MAX_AGE:-24}
if [ "$max_age" -gt 0 ] && [ -n "$(find "$base" -mmin -$((max_age * 60)) 2>/dev/null)" ]; then
	must "chroot from the debootstrap of $(date -r "$base" '+%F %H:%M') ($base)" \
		"$work/debootstrap.log" eval "mkdir -p '$chr' && tar -x -C '$chr' -f '$base'"
else
	must "debootstrap --variant=minbase $codename ($mirror)" "$work/debootstrap.log" \
		debootstrap --variant=minbase --cache-dir="$cache/debs" "$codename" "$chr" "$mirror"
	tar -c -C "$chr" -f "$base.tmp" . && mv "$base.tmp" "$base"
fi
printf '%s\n' "${targets[@]}" |
	awk '{ k = $1 " " $2; if (!(k in c)) o[++n] = k; c[k] = c[k] " " $3 }
	     END { for (i = 1; i <= n; i++) print "deb " o[i] c[o[i]] }' \
		>"$chr/etc/apt/sources.list"
cat >"$chr/etc/apt/apt.conf.d/90bpf-preload-test" <<'EOF'
APT::Sandbox::User "root";
Acquire::Retries "3";
EOF
# A throwaway chroot: dpkg need not fsync every file it unpacks.
echo force-unsafe-io >"$chr/etc/dpkg/dpkg.cfg.d/90bpf-preload-test"
printf '#!/bin/sh\necho "update-initramfs: skipped in the package test chroot"\n' \
	>"$chr/usr/local/sbin/update-initramfs"
in_chroot dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
ln -s /usr/local/sbin/update-initramfs "$chr/usr/sbin/update-initramfs"
chmod 755 "$chr/usr/local/sbin/update-initramfs"
mount -t proc proc "$chr/proc"
# Reuse earlier runs' downloads (same file system: hard links).
cp -l -n "$cache/archives/"*.deb "$chr/var/cache/apt/archives/" 2>/dev/null || true
keep_downloads() { cp -l -n "$chr/var/cache/apt/archives/"*.deb "$cache/archives/" 2>/dev/null || true; }
must "apt-get update in the chroot" "$work/apt-update.log" apt_in_chroot update

# dkms_ok <kernel> <log>: DKMS built and installed the module for <kernel>,
# make.log shows the link and no warning, and depmod indexed it.
# shellcheck disable=SC2317 # run through check
dkms_ok() {
	local k=$1 rc=0 status mlog ko
	status=$(in_chroot dkms status -m bpf-preload -v "$version" -k "$k" 2>/dev/null)
	echo "  | dkms status: $status"
	[[ $status == *": installed"* ]] || { echo "  | not installed for $k"; rc=1; }
	mlog=$chr/var/lib/dkms/bpf-preload/$version/$k/x86_64/log/make.log
	if [ -f "$mlog" ]; then
		grep -q 'LD \[M\] .*/bpf_preload\.ko$' "$mlog" || { echo "  | $mlog: no link step"; rc=1; }
		if grep -i warning "$mlog"; then rc=1; fi
	else
		echo "  | no $mlog"
		rc=1
	fi
	ko=$(cd "$chr" && find "lib/modules/$k" -name 'bpf_preload.ko*' | head -n 1)
	echo "  | module: ${ko:-none}"
	[[ $ko == lib/modules/$k/updates/dkms/bpf_preload.ko* ]] || rc=1
	grep -q '^updates/dkms/bpf_preload\.ko[.a-z]*:' "$chr/lib/modules/$k/modules.dep" 2>/dev/null ||
		{ echo "  | not in lib/modules/$k/modules.dep"; rc=1; }
	return "$rc"
}

# 3. Headers of the installed kernel, then the package.
must "install linux-headers-$old" "$work/apt-headers-old.log" \
	apt_in_chroot install "linux-headers-$old"
keep_downloads
cp "$deb" "$chr/tmp/"
must "apt-get install ./bpf-preload-dkms_${version}_all.deb" "$work/apt-install-deb.log" \
	apt_in_chroot install "/tmp/${deb##*/}"
keep_downloads
sed -n '/^Setting up bpf-preload-dkms/,$p' "$work/apt-install-deb.log" | sed 's/^/  | /'
check "... DKMS built and installed it for $old, zero warnings, indexed" dkms_ok "$old"

# 4. A new kernel.
must "new kernel: install linux-headers-$new (pulls its image)" "$work/apt-headers-new.log" \
	apt_in_chroot install "linux-headers-$new"
keep_downloads
grep -iE 'dkms|bpf-preload' "$work/apt-headers-new.log" | head -n 20 | sed 's/^/  | /'
check "... DKMS autoinstalled it for $new, zero warnings, indexed" dkms_ok "$new"

# 5. Boot each kernel with what DKMS installed; nobody types a command.
make -C tests >/dev/null
boot() { # boot <kernel>
	local k=$1 ov=$work/vm-$1 rc=0 totals p f ko
	rm -rf "$ov" && mkdir -p "$ov/tests"
	ko=$(cd "$chr" && find "lib/modules/$k" -name 'bpf_preload.ko*' | head -n 1)
	if [ -z "$ko" ]; then
		result 1 "$k: boot: no module installed in the chroot"
		return
	fi
	mkdir -p "$ov/${ko%/*}"
	cp "$chr/$ko" "$ov/$ko"
	cp -r tests/boot-check.sh tests/bin "$ov/tests/"
	printf '#!/bin/sh\nexec /tests/boot-check.sh autoload\n' >"$ov/run-in-vm"
	chmod +x "$ov/run-in-vm"
	local vmlinuz moddir
	eval "$(scripts/kernel/debian-kernel.sh fetch "$k" | grep -E '^(vmlinuz|moddir)=')"
	# The kernel's module metadata, as on an installed system (depmod
	# reads it); its modules themselves are not needed.
	cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$ov/lib/modules/$k/"
	scripts/vm/mkinitramfs.sh --out "$work/initrd-$k.cpio.gz" --root "$ov" --kver "$k" >/dev/null
	scripts/vm/vm.sh --kernel "$vmlinuz" --initrd "$work/initrd-$k.cpio.gz" --timeout 300 \
		--log "$work/vm-$k.log" || rc=$?
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$work/vm-$k.log" | tail -1)
	if [ -z "$totals" ]; then
		result 1 "$k: boot with the DKMS module ran to completion (vm.sh rc $rc)"
		return
	fi
	read -r p f <<<"$totals"
	echo "deb: $k: boot: $p passed, $f failed in the VM"
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$rc" -eq 0 ] || [ "$f" -ne 0 ] || result 1 "$k: boot: VM exit status $rc"
}
boot "$old"
boot "$new"

# 6. Removal.
must "apt-get purge bpf-preload-dkms" "$work/apt-purge.log" apt_in_chroot purge bpf-preload-dkms
check "... no bpf_preload.ko left under /lib/modules" \
	eval "[ -z \"\$(find '$chr/lib/modules' -name 'bpf_preload.ko*')\" ]"
check "... modules.dep of both kernels updated" \
	eval "! grep -q bpf_preload '$chr/lib/modules/$old/modules.dep' '$chr/lib/modules/$new/modules.dep'"
check "... /usr/src/bpf-preload-$version and DKMS's record removed" \
	test ! -e "$chr/usr/src/bpf-preload-$version" -a ! -e "$chr/var/lib/dkms/bpf-preload"

# 7. DKMS from a checkout, without the package: make dkms-add, dkms
# install, make dkms-remove (dkms itself stays installed after the purge).
mkdir -p "$chr/root/src/mk"
scripts/pkg/dkms-source.sh "$chr/root/src"
cp scripts/pkg/dkms-source.sh "$chr/root/src/scripts/"
cp mk/install.mk "$chr/root/src/mk/"
must "checkout: make dkms-add" "$work/dkms-add.log" in_chroot make -C /root/src dkms-add
must "... dkms install bpf-preload/$version -k $old" "$work/dkms-install.log" \
	in_chroot dkms install "bpf-preload/$version" -k "$old"
check "... DKMS built and installed it for $old, zero warnings, indexed" dkms_ok "$old"
must "... make dkms-remove" "$work/dkms-remove.log" in_chroot make -C /root/src dkms-remove
check "... module, /usr/src/bpf-preload-$version and DKMS's record gone" \
	eval "[ -z \"\$(find '$chr/lib/modules' -name 'bpf_preload.ko*')\" ] && [ ! -e '$chr/usr/src/bpf-preload-$version' ] && [ ! -e '$chr/var/lib/dkms/bpf-preload' ]"

umount_all
rm -rf --one-file-system "$chr"
finish
