# SPDX-License-Identifier: GPL-2.0
# Robustness checks (scripts/check/check-robust.sh), part of `make check`:
#   check-robust         per Debian kernel, one VM boot: fault injection on
#                        every init step, fd and BPF object accounting,
#                        churn, races, someone else's ops, a module built
#                        for the other kernel (tests/robust.sh)
#   check-kbuild-errors  make against doctored copies of Debian's headers
#                        trees stops with the Makefile's messages

.PHONY: check-robust check-kbuild-errors

check-robust:
	scripts/check/check-robust.sh vm

check-kbuild-errors:
	scripts/check/check-robust.sh kbuild

# make check-debug: the debug-kernel tier (KASAN, kmemleak, lockdep, failslab,
# fail_function). Not in CHECKS: building its kernel from Debian's
# linux-source-6.12 takes longer than CI's budget on a fresh machine; the
# kernel is cached by scripts/kernel/kernel-build.sh. Last result: README, "Tests".
.PHONY: check-debug
check-debug: deps
	scripts/check/check-robust.sh debug
