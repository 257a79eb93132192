# SPDX-License-Identifier: GPL-2.0
#
#   make                  build bpf_preload.ko for the running kernel
#   make KDIR=<tree>      ... for the kernel whose kbuild tree is <tree>
#   make check            every check, for the newest kernels of every Debian
#                         suite in SUITES, built in each suite's own chroot
#                         and tested under QEMU; writes support.md
#   make check SUITES=trixie   ... only for that suite's kernels
#   make check ARCH=arm64 the checks of another architecture's kernels:
#                         arm64, ppc64el, riscv64 or s390 (mk/arch.mk)
#   make run              boot the newest kernel of Debian's stable release
#                         with the module and show maps.debug, progs.debug
#                         and bpftool prog show
#   make tables           regenerate iterators/*.tables-*.h
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build

# The Debian suites whose kernels the checks cover: each suite's kernel
# metapackages name them (scripts/kernel/kernels.sh), so next month's
# kernels need no change here. The one list; every check reads it. Lint
# takes its tools from the stable release among them, whatever SUITES is.
DEBIAN_SUITES := bookworm trixie trixie-backports sid
SUITES ?= $(DEBIAN_SUITES)
export SUITES DEBIAN_SUITES

.PHONY: all modules check run tables check-tables check-vm deps clean

# `make check` runs every target in CHECKS, in this order
# (scripts/check/check-all.sh adds up what each records in
# $$BPF_PRELOAD_RESULT); the targets are defined here and in mk/*.mk.
# Slower tiers stay out: check-intree, check-debug, check-mutants, bench.
CHECKS := check-tables check-vm check-bench check-install check-lint \
	check-deb check-kbuild-errors check-robust check-vm-arm64 check-vm-s390x \
	check-secureboot-stable
# The architectures the checks know: the table in scripts/lib/common.sh
# (not in the DKMS source). amd64 is this machine's; the others are booted
# under QEMU (mk/arch.mk).
FOREIGN_ARCHES := $(if $(wildcard scripts/lib/common.sh),$(filter-out amd64,$(shell 	bash -c '. scripts/lib/common.sh && echo $$ARCHES')))
# make check ARCH=arm64|ppc64el|riscv64|s390: the checks of that
# architecture's kernels (mk/arch.mk), by Debian's name for it (kbuild's
# s390 is Debian's s390x).
ifneq ($(filter $(ARCH),$(FOREIGN_ARCHES) s390),)
CHECKS := check-tables check-vm-$(patsubst s390,s390x,$(ARCH))
endif
# mk/*.mk define targets of their own: keep `make` building the module.
.DEFAULT_GOAL := all
-include mk/*.mk

all: modules

# kbuild reads ./Kbuild. PAHOLE: the module's BTF leaves C++ out (Kbuild).
modules:
	@scripts/check-kernel.sh "$(KDIR)"
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" PAHOLE="$(CURDIR)/scripts/pahole-cxx.sh" modules

deps:
	@scripts/deps.sh

check: deps
	@scripts/check/check-all.sh $(CHECKS)

# The in-VM suite on every kernel of SUITES.
check-vm:
	scripts/check/check-vm.sh check

run: deps
	scripts/check/check-vm.sh run

# The tables are generated in the build chroot of the release whose clang
# made the committed ones (its output differs between versions), so any
# host regenerates them byte for byte, in either byte order.
TABLE_SUITE ?= bookworm
tables_in_chroot = scripts/kernel/chroot.sh run $(TABLE_SUITE) --bind "$(CURDIR)" \
	make -C iterators

tables:
	$(tables_in_chroot)

# Regenerates the tables into a temporary dir and compares.
check-tables:
	@if $(tables_in_chroot) check; then r="1 0 0"; else r="0 1 0"; fi; \
	[ -z "$$BPF_PRELOAD_RESULT" ] || echo "$$r" >"$$BPF_PRELOAD_RESULT"; \
	[ "$$r" = "1 0 0" ]

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C "$(KDIR)" M="$(CURDIR)" clean; fi
	rm -rf build
