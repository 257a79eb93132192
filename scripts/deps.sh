#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs the host's Debian packages for `make check` and `make run`: the
# BPF toolchain for the skeletons, debootstrap for the build chroots
# (scripts/kernel/chroot.sh), QEMU and busybox for the VMs. No version is
# named, so a Debian 12 and a Debian 13 host both have it all.
set -euo pipefail

packages=(
	make gcc g++ libc6-dev libelf-dev dwarves kmod
	clang llvm bpftool libbpf-dev zlib1g-dev libzstd-dev
	qemu-system-x86 qemu-user-static busybox-static cpio xz-utils debootstrap
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
