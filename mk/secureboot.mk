# SPDX-License-Identifier: GPL-2.0
# make check-secureboot: the module on a UEFI Secure Boot machine, for the
# kernels of SECUREBOOT_SUITES (README.md, "Secure Boot and lockdown");
# `make check` runs check-secureboot-stable, the stable release's only.
SECUREBOOT_SUITES ?= bookworm trixie

.PHONY: check-secureboot check-secureboot-stable
check-secureboot: deps
	SUITES="$(SECUREBOOT_SUITES)" scripts/check/check-secureboot.sh

check-secureboot-stable:
	$(MAKE) --no-print-directory check-secureboot SECUREBOOT_SUITES=trixie
