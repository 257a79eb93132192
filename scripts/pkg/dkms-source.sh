#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-source.sh DEST      copy the module's DKMS source tree into DEST
# dkms-source.sh --list    print the files, one per line
# dkms-source.sh --version print PACKAGE_VERSION from dkms.conf
#
# The one list of the module's source files (DKMS's
# /usr/src/bpf-preload-<version>/), for every copy of them.
set -euo pipefail

cd "$(dirname "$0")/../.."

files() {
	printf '%s\n' dkms.conf Makefile Kbuild bpf_preload.h bpf_preload_core.h \
		bpf_preload_kernel.h bpf_preload_nojit.h bpf_preload_glue.c \
		bpf_preload_loader.c bpf_preload_kern.cpp \
		freestanding.hpp scripts/check-kernel.sh scripts/pahole-cxx.sh
	# The dispatchers, the generated tables they pick from and their BPF source.
	find iterators -maxdepth 1 \( -name '*.h' -o -name '*.bpf.c' \) | LC_ALL=C sort
}

case ${1:-} in
--list) files ;;
--version) sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$/\1/p' dkms.conf ;;
"" | -*) echo "usage: $0 DEST | --list | --version" >&2; exit 2 ;;
*)
	mkdir -p "$1"
	files | tar -c -T - | tar -x -C "$1" --no-same-owner
	;;
esac
