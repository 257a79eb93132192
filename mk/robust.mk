# SPDX-License-Identifier: GPL-2.0
# In `make check` (scripts/check/check-robust.sh):
#   check-robust         per Debian kernel, one VM boot of tests/robust.sh
#   check-kbuild-errors  make against doctored copies of Debian's headers
#                        trees stops with the Makefile's messages
# Not in CHECKS (longer than CI's budget on a fresh machine; README, "Tests"):
#   check-debug          the debug-kernel tier (KASAN, kmemleak, lockdep,
#                        failslab, fail_function) on linux-source-6.12, cached
#   check-intree         our sources as kernel/bpf/preload of linux-source-6.12,
#                        built in and as the tree's module, booted with the
#                        suite (scripts/check/check-intree.sh; kernels cached)
#   check-mutants        scripts/check/check-mutants.sh: each mutant applied
#                        alone to a copy in build/mutants/ must fail the checks
#                        named for it (about 40 minutes; MUTANTS_SUITES,
#                        default bookworm; MUTANTS=a,b); tests/README.md
.PHONY: check-robust check-kbuild-errors check-debug check-intree check-mutants

check-robust check-kbuild-errors check-debug: deps
	scripts/check/check-robust.sh $(@:check-%=%)

check-intree check-mutants: deps
	scripts/check/$@.sh
