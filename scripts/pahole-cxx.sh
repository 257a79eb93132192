#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pahole-cxx.sh ARGS...   pahole ARGS, with the C++ compile units left out
# of the BTF it encodes. The Makefile hands it to kbuild as PAHOLE, so the
# C++ core can carry debug info: pahole cannot encode C++ DWARF (templates,
# rvalue references) and would fail the module's BTF step, as the kernel's
# Rust units would without the --lang_exclude kbuild passes for them.
set -euo pipefail

cxx=c++,c++03,c++11,c++14
args=()
excluded=
for arg; do
	case $arg in
	--lang_exclude=*) arg+=",$cxx" excluded=1 ;;
	esac
	args+=("$arg")
done
[ -n "$excluded" ] || args=("--lang_exclude=$cxx" "${args[@]}")
exec pahole "${args[@]}"
