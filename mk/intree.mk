# SPDX-License-Identifier: GPL-2.0
#
#   make check-intree   our sources as kernel/bpf/preload of Debian's
#                       linux-source-6.12 (scripts/pkg/intree-install.sh), built
#                       into vmlinux (CONFIG_BPF_PRELOAD_UMD=y) and as the
#                       tree's module (=m), each booted under QEMU with the
#                       suite (scripts/check/check-intree.sh)
#
# Not in CHECKS: on a fresh machine it builds two kernels from source (see
# README, "Built into the kernel"), which does not fit CI's time budget.
# Kernels are cached by scripts/kernel/kernel-build.sh under
# /var/cache/bpf-preload/kbuild; later runs rebuild only what changed.

.PHONY: check-intree
check-intree: deps
	scripts/check/check-intree.sh
