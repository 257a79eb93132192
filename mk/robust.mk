# SPDX-License-Identifier: GPL-2.0
# Robustness checks (scripts/robust.sh), part of `make check`:
#   check-robust         per Debian kernel, one VM boot: fault injection on
#                        every init step, fd and BPF object accounting,
#                        churn, races, someone else's ops, a module built
#                        for the other kernel (tests/robust.sh)
#   check-kbuild-errors  make against doctored copies of Debian's headers
#                        trees stops with the Makefile's messages
CHECKS += check-kbuild-errors check-robust

.PHONY: check-robust check-kbuild-errors

check-robust:
	scripts/robust.sh vm

check-kbuild-errors:
	scripts/robust.sh kbuild
