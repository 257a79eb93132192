# SPDX-License-Identifier: GPL-2.0
# make bench: bench/bench.sh on every kernel of SUITES (bench/results/);
# check-bench: its quick mode, which proves it runs and asserts no timing.
.PHONY: bench check-bench

bench:
	bench/bench.sh

check-bench:
	bench/bench.sh --quick
