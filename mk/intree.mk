# SPDX-License-Identifier: GPL-2.0
#   make check-intree   our sources as kernel/bpf/preload of Debian's
#                       linux-source-6.12, built in (=y) and as the tree's
#                       module (=m), each booted with the suite
#                       (scripts/check/check-intree.sh)
# Not in CHECKS: a fresh machine builds two kernels from source, beyond CI's
# budget; scripts/kernel/kernel-build.sh caches them.
.PHONY: check-intree
check-intree: deps
	scripts/check/check-intree.sh
