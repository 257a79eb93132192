# SPDX-License-Identifier: GPL-2.0
# make check-secureboot: the module on a UEFI Secure Boot machine
# (scripts/check/check-secureboot.sh): Debian's signed shim, grub and kernel
# under OVMF with Secure Boot on, the module built and signed by DKMS and
# DKMS's key enrolled as a MOK; lockdown "integrity" tested, lockdown
# "confidentiality" measured. Three TCG boots per kernel, about a minute a
# kernel with its caches warm; `make check` runs the reduced form,
# check-secureboot-stable: the stable release's kernel only.
# SECUREBOOT_SUITES picks the kernels (default: bookworm's and trixie's);
# SB_TIMEOUT bounds each boot (600 s). Last result: README, "Secure Boot".
SECUREBOOT_SUITES ?= bookworm trixie

.PHONY: check-secureboot check-secureboot-stable
check-secureboot: deps
	SUITES="$(SECUREBOOT_SUITES)" scripts/check/check-secureboot.sh

check-secureboot-stable:
	$(MAKE) --no-print-directory check-secureboot SECUREBOOT_SUITES=trixie
