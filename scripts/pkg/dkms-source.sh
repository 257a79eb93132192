#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-source.sh DEST      copy the module's DKMS source tree into DEST
# dkms-source.sh --list    print the files, one per line
# dkms-source.sh --version print PACKAGE_VERSION from dkms.conf
#
# The one list of the module's source files. DKMS keeps it as
# /usr/src/bpf-preload-<version>/; `make dkms-add`, the Debian package
# (debian/rules), the DKMS build of `make check` (scripts/pkg/dkms-build.sh),
# the other builds of the checks and bench, and the in-tree install
# (scripts/pkg/intree-install.sh, which leaves out the out-of-tree build
# files) all copy it from here. DEST is created; files already in it are replaced.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

files() {
	printf '%s\n' dkms.conf Makefile Kbuild bpf_preload.h bpf_preload_core.h \
		bpf_preload_kernel.h bpf_preload_glue.c bpf_preload_skel.c bpf_preload_kern.cpp freestanding.hpp \
		scripts/check-kernel.sh scripts/pahole-cxx.sh
	# The dispatcher, the generated skeletons it picks from and the BPF
	# source they are generated from.
	find iterators -maxdepth 1 \( -name '*.h' -o -name '*.bpf.c' \) | LC_ALL=C sort
}

case ${1:-} in
--list) files ;;
--version)
	sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$/\1/p' dkms.conf
	;;
"" | -*)
	echo "usage: $0 DEST | --list | --version" >&2
	exit 2
	;;
*)
	dest=$1
	mkdir -p "$dest"
	mapfile -t list < <(files)
	for f in "${list[@]}"; do
		[ -f "$f" ] || { echo "dkms-source.sh: $f missing" >&2; exit 1; }
	done
	tar -c "${list[@]}" | tar -x -C "$dest" --no-same-owner
	;;
esac
