# SPDX-License-Identifier: GPL-2.0
#   make check-vm-ARCH    check-vm for Debian architecture ARCH (FOREIGN_ARCHES:
#                         arm64, ppc64el, riscv64, s390x), cross-built, booted
#                         in its qemu-system-* (TCG)
#   make check-arches     check-vm for all four, with a total
#   make run-ARCH         make run on ARCH

# SUITES, per architecture where it must differ: riscv64 is a release
# architecture from trixie on. This machine's mirror (2026-11-30) has no
# trixie pool for ppc64el and s390x (404s), so bookworm's (s390x's with BTF
# is in bookworm-backports); its trixie-backports lists for riscv64 fail.
SUITES_riscv64 ?= trixie sid
SUITES_ppc64el ?= bookworm bookworm-backports
SUITES_s390x ?= bookworm bookworm-backports

.PHONY: check-arches $(addprefix check-vm-,$(FOREIGN_ARCHES)) $(addprefix run-,$(FOREIGN_ARCHES))

$(addprefix check-vm-,$(FOREIGN_ARCHES)): check-vm-%:
	SUITES="$(or $(SUITES_$*),$(SUITES))" BPF_PRELOAD_ARCH=$* scripts/check/check-vm.sh check

$(addprefix run-,$(FOREIGN_ARCHES)): run-%: deps
	SUITES="$(or $(SUITES_$*),$(SUITES))" BPF_PRELOAD_ARCH=$* scripts/check/check-vm.sh run

check-arches: deps
	@scripts/check/check-all.sh $(addprefix check-vm-,$(FOREIGN_ARCHES))
