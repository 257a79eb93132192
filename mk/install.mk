# SPDX-License-Identifier: GPL-2.0
# install [BOOTLOAD=1] [DESTDIR=...], uninstall, dkms-add, dkms-remove, deb,
# compile_commands.json and lint: README.md's "Installing" and "Developer
# tooling". KVER=<ver> alone means KDIR=/lib/modules/<ver>/build, KDIR alone
# takes KVER from the tree; neither: the running kernel.

ifneq ($(filter command line environment,$(origin KVER)),)
ifeq ($(origin KDIR),file)
KDIR := /lib/modules/$(KVER)/build
endif
else
KVER := $(or $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	"$(KDIR)/include/generated/utsrelease.h" 2>/dev/null),$(shell uname -r))
endif

bpf_preload_moddir = $(DESTDIR)/lib/modules/$(KVER)
bpf_preload_ko = $(bpf_preload_moddir)/updates/bpf_preload.ko
bpf_preload_load_conf = $(DESTDIR)/etc/modules-load.d/bpf_preload.conf
bpf_preload_version = $(shell scripts/pkg/dkms-source.sh --version)
bpf_preload_system_map = $(wildcard /boot/System.map-$(KVER))

# depmod for KVER: the system's index, or the one of the system image under
# DESTDIR. A DESTDIR without the kernel's modules.order is a staging area
# (say, for a package), not an image: its index is made where it is
# installed. Nothing to index once /lib/modules/<KVER> is gone.
bpf_preload_depmod = \
	if [ ! -d "$(bpf_preload_moddir)" ]; then \
		echo "  DEPMOD  skipped: no $(bpf_preload_moddir)"; \
	elif [ -n "$(DESTDIR)" ] && [ ! -f "$(bpf_preload_moddir)/modules.order" ]; then \
		echo "  DEPMOD  skipped: $(bpf_preload_moddir) has no modules.order (not a system image)"; \
	else \
		echo "  DEPMOD  $(if $(DESTDIR),-b $(DESTDIR) )$(KVER)"; \
		/sbin/depmod $(if $(DESTDIR),-b "$(DESTDIR)",-a $(if $(bpf_preload_system_map),-F \
			"$(bpf_preload_system_map)")) "$(KVER)"; \
	fi

.PHONY: install uninstall dkms-add dkms-remove deb lint compile_commands.json \
	check-install check-lint check-deb

install: modules
	@v=$$(/sbin/modinfo -F vermagic bpf_preload.ko | cut -d' ' -f1); [ "$$v" = "$(KVER)" ] || \
		{ echo "bpf_preload: bpf_preload.ko is for kernel '$$v', not KVER=$(KVER)" >&2; exit 1; }
	install -D -m 0644 bpf_preload.ko "$(bpf_preload_ko)"
ifeq ($(BOOTLOAD),1)
	@mkdir -p "$(dir $(bpf_preload_load_conf))"
	printf '# bpf_preload.ko, installed by make install BOOTLOAD=1\nbpf_preload\n' \
		>"$(bpf_preload_load_conf)"
endif
	@$(bpf_preload_depmod)

uninstall:
	rm -f "$(bpf_preload_ko)" "$(bpf_preload_load_conf)"
	@rmdir --ignore-fail-on-non-empty "$(dir $(bpf_preload_ko))" 2>/dev/null || true
	@$(bpf_preload_depmod)

dkms-add:
	rm -rf "/usr/src/bpf-preload-$(bpf_preload_version)"
	scripts/pkg/dkms-source.sh "/usr/src/bpf-preload-$(bpf_preload_version)"
	dkms add "bpf-preload/$(bpf_preload_version)"

dkms-remove:
	-dkms remove "bpf-preload/$(bpf_preload_version)" --all
	rm -rf "/usr/src/bpf-preload-$(bpf_preload_version)"

deb:
	@scripts/pkg/deb-build.sh

compile_commands.json:
	@scripts/check/check-lint.sh compile-commands

lint check-lint:
	@scripts/check/check-lint.sh

check-install check-deb:
	@scripts/check/$@.sh
