# SPDX-License-Identifier: GPL-2.0
#
#   make check-s390x      (part of `make check`) cross-build the module for
#                         the s390x kernels Debian's metapackages name, check
#                         that it embeds the big-endian skeleton, boot each
#                         kernel under qemu-system-s390x and run the in-VM
#                         suite there (scripts/check/check-s390x.sh); logs in
#                         build/<abi>/ and build/s390x/
#   make run-s390x        boot the newest s390x kernel with the module and show
#                         maps.debug, progs.debug and bpftool prog show
#   make check ARCH=s390  only the checks that make sense for s390: the
#                         skeletons and check-s390x (not the amd64 VMs, which
#                         an ARCH=s390 in the environment would break)
#
# Cross-building by hand, with a kbuild tree from
# `scripts/kernel/debian-kernel.sh fetch <abi>-s390x`:
#   make KDIR=<kdir> ARCH=s390 CROSS_COMPILE=s390x-linux-gnu-
.PHONY: check-s390x run-s390x

check-s390x:
	scripts/check/check-s390x.sh check

run-s390x: deps
	scripts/check/check-s390x.sh run
