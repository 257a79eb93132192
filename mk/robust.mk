# SPDX-License-Identifier: GPL-2.0
# check-robust and check-kbuild-errors (in `make check`), and the tiers too
# long for it: check-debug, check-intree and check-mutants (README.md).
.PHONY: check-robust check-kbuild-errors check-debug check-intree check-mutants

check-robust check-kbuild-errors check-debug: deps
	scripts/check/check-robust.sh $(@:check-%=%)

check-intree check-mutants: deps
	scripts/check/$@.sh
