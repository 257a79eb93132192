#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run Debian's s390x bpftool under qemu-user: s390x-bpftool.sh ARGS...
#
# Why: the light skeleton for big-endian kernels must be generated from a
# bpfeb object, and Debian's amd64 bpftool 7.1 refuses any object whose
# byte order differs from its own ("Endian mismatch").  A native
# big-endian bpftool has no such complaint, and Debian ships one for s390x.
#
# The first run (as root) builds a private sysroot out of the s390x .debs
# of bpftool and its shared libraries, without installing any of them on
# the host.  It is cached outside the work tree, in
# ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/s390x-sysroot, and later
# runs only exec qemu.  Delete that directory to refresh it.

set -euo pipefail

cache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
sysroot=$cache/s390x-sysroot
stamp=$sysroot/.complete
qemu="qemu-s390x-static"

# The dynamic loader and libraries, as paths inside the sysroot; qemu -L
# maps them.  Set explicitly so the host's ld.so.cache never comes into it.
guest_libs=/lib/s390x-linux-gnu:/usr/lib/s390x-linux-gnu

die()
{
	echo "s390x-bpftool: $*" >&2
	exit 1
}

need_root()
{
	[ "$(id -u)" = 0 ] ||
		die "setting up $1 needs root (apt-get); run once as root, or point BPF_PRELOAD_CACHE at an existing cache"
}

apt_updated=
apt_update()
{
	[ -n "$apt_updated" ] && return
	apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

ensure_qemu()
{
	command -v "$qemu" >/dev/null && return
	need_root qemu-user-static
	apt_update
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends qemu-user-static >&2 ||
		die "cannot install qemu-user-static"
	command -v "$qemu" >/dev/null || die "$qemu still missing"
}

build_sysroot()
{
	local tmp pkgs deb

	need_root "$sysroot"

	# apt only knows about s390x packages once the architecture is added.
	if ! dpkg --print-foreign-architectures | grep -qx s390x; then
		dpkg --add-architecture s390x
		apt_updated= # the lists fetched so far have no s390x packages
	fi
	apt_update

	# bpftool plus everything it depends on, recursively; lines in
	# <angle brackets> are virtual packages and carry no files.
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		bpftool:s390x | grep -E '^[a-z0-9][^ <>]*:s390x$' | sort -u)
	[ -n "$pkgs" ] || die "apt knows no bpftool:s390x"

	tmp=$(mktemp -d "$cache/s390x-sysroot.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/debs" "$tmp/root"

	# apt drops to user _apt to download unless told otherwise, and
	# _apt cannot write into our root-owned directory.
	# shellcheck disable=SC2086
	(cd "$tmp/debs" && apt-get download -qq \
		-o APT::Sandbox::User=root $pkgs >&2) ||
		die "apt-get download failed"

	for deb in "$tmp"/debs/*.deb; do
		dpkg -x "$deb" "$tmp/root"
		# shellcheck disable=SC2016 # dpkg-deb's own ${field} syntax
		dpkg-deb --show --showformat='${Package}:${Architecture} ${Version}\n' \
			"$deb" >>"$tmp/root/.manifest"
	done

	[ -x "$tmp/root/usr/sbin/bpftool" ] || die "no usr/sbin/bpftool in the .debs"
	"$qemu" -L "$tmp/root" -E LD_LIBRARY_PATH="$guest_libs" \
		"$tmp/root/usr/sbin/bpftool" version >/dev/null ||
		die "the s390x bpftool does not run under $qemu"

	touch "$tmp/root/.complete"
	rm -rf "$sysroot"
	mv "$tmp/root" "$sysroot"
	rm -rf "$tmp"
	trap - EXIT
	echo "s390x-bpftool: sysroot ready in $sysroot:" >&2
	sed 's/^/  /' "$sysroot/.manifest" >&2
}

if [ ! -e "$stamp" ] || ! command -v "$qemu" >/dev/null; then
	mkdir -p "$cache"
	# make -j may run several big-endian generations at once: one sets
	# up, the others wait for it.
	exec 9>"$cache/s390x-sysroot.lock"
	flock 9
	ensure_qemu
	[ -e "$stamp" ] || build_sysroot
	exec 9>&-
fi

exec "$qemu" -L "$sysroot" -E LD_LIBRARY_PATH="$guest_libs" \
	"$sysroot/usr/sbin/bpftool" "$@"
