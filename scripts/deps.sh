#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs the Debian packages that `make check` and `make run` need: the
# kernel build toolchain, the BPF toolchain for the skeletons, static libbpf
# for the test programs and QEMU with busybox for the VMs. Kernel headers and
# images are fetched per kernel by scripts/kernel/debian-kernel.sh.
set -euo pipefail

packages=(
	make gcc gcc-12 g++ g++-12 libc6-dev libelf-dev dwarves kmod dkms
	clang llvm bpftool libbpf-dev zlib1g-dev libzstd-dev
	qemu-system-x86 qemu-user-static busybox-static cpio xz-utils debootstrap
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
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
