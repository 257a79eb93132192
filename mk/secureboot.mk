# SPDX-License-Identifier: GPL-2.0
# make check-secureboot: the module under UEFI Secure Boot, for the kernels
# of SECUREBOOT_SUITES (README.md); check-secureboot-stable: trixie's only.
SECUREBOOT_SUITES ?= bookworm trixie

.PHONY: check-secureboot check-secureboot-stable
check-secureboot check-secureboot-stable: deps
	SUITES="$(SECUREBOOT_SUITES)" scripts/check/check-secureboot.sh
check-secureboot-stable: override SECUREBOOT_SUITES = trixie
