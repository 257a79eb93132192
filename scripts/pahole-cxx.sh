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
args=("${@/#--lang_exclude=/--lang_exclude=$cxx,}")
[[ " $* " == *" --lang_exclude="* ]] || args=("--lang_exclude=$cxx" "$@")

# pahole before 1.30 (bookworm's 1.24) reads every unit's DWARF before it
# leaves the excluded ones out, and says so for the tags only C++ has: one line
# per tag, about units whose BTF it does not write. Those lines alone are
# dropped from stderr; stdout (kbuild reads `pahole --version` there) passes as
# it is, and the status is pahole's (pipefail).
cxx_tags='template_type_parameter|template_value_parameter|GNU_template_parameter_pack|GNU_formal_parameter_pack|GNU_template_template_param|rvalue_reference_type'
drop="^die__process_[a-z_]+: tag not supported 0x[0-9a-f]+ \(($cxx_tags)\)!$"
{ pahole "${args[@]}" 2>&1 >&3 3>&- | { grep -Ev "$drop" || true; } >&2; } 3>&1
