# SPDX-License-Identifier: GPL-2.0
#
#   make bench         boot Debian's newest 6.1 and 6.12 kernels under QEMU
#                      and measure this module against the kernel's own C
#                      module and bpftool; tables and plots in bench/results/
#   make check-bench   (part of `make check`) the same in a quick mode: 2
#                      rounds, few objects; proves the bench works, asserts no
#                      timing; output in build/bench/quick/
.PHONY: bench check-bench


bench: deps
	bench/bench.sh

check-bench:
	bench/bench.sh --quick
