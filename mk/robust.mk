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

# make check-mutants: the checks can fail. Each mutant of
# scripts/check/check-mutants.sh (a deliberate bug in the module, the BPF
# program or the packaging) is applied alone to a scratch copy in
# build/mutants/ and the checks named for it must fail, naming the tests
# that caught it; the unmutated copy must pass them first. Not in CHECKS: it
# runs the VM checks once per mutant (about 40 minutes on bookworm's 6.1 and
# 6.12). MUTANTS_SUITES (default bookworm) picks the kernels, MUTANTS=a,b
# the mutants. The mutants and their killers: tests/README.md.
.PHONY: check-mutants
check-mutants: deps
	scripts/check/check-mutants.sh
