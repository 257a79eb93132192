#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs the host's Debian packages for `make check` and `make run`: the
# BPF toolchain for the iterators (iterators/Makefile), debootstrap for the
# build chroots (scripts/kernel/chroot.sh), QEMU and busybox for the VMs. No
# version is named, so a Debian 12 and a Debian 13 host both have it all.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
need make gcc g++ libc6-dev libelf-dev dwarves kmod \
	clang llvm bpftool libbpf-dev zlib1g-dev libzstd-dev \
	qemu-system-x86 qemu-user-static busybox-static cpio xz-utils zstd debootstrap
