# SPDX-License-Identifier: GPL-2.0
#
#   make bench         this module against the kernel's own C module and
#                      bpftool on every kernel of SUITES under QEMU; tables and
#                      plots in bench/results/ (bench/bench.sh)
#   make check-bench   (part of `make check`) the same in a quick mode, output
#                      in build/bench/quick/: proves it works, asserts no timing
.PHONY: bench check-bench

bench:
	bench/bench.sh

check-bench:
	bench/bench.sh --quick
