#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernel.sh KDIR: says in one line, before kbuild runs, why the
# kernel behind KDIR cannot host bpf_preload.ko. Kbuild checks the C++
# compiler, which it knows.
set -euo pipefail

kdir=$1
fail() { echo "bpf_preload: $*" >&2; exit 1; }
config_set() { grep -q "^$1=y" "$kdir/.config"; }

[[ -f $kdir/Makefile && -f $kdir/.config ]] ||
	fail "no kbuild tree at $kdir: install the kernel's headers (Debian: linux-headers-\$(uname -r)) or pass KDIR=<kbuild tree>"
config_set CONFIG_BPF_SYSCALL ||
	fail "$kdir: CONFIG_BPF_SYSCALL is off; this kernel has no BPF syscall to load iterators with"
config_set CONFIG_DEBUG_INFO_BTF ||
	fail "$kdir: CONFIG_DEBUG_INFO_BTF is off; the iterators are CO-RE programs and need the kernel's BTF"
if config_set CONFIG_BPF_PRELOAD; then
	echo "bpf_preload: note: $kdir has CONFIG_BPF_PRELOAD=y; its own preload code owns the hook unless built as a module" >&2
fi

[ -f "$kdir/Module.symvers" ] ||
	fail "$kdir has no Module.symvers; cannot tell whether bpf_preload_ops is exported"
awk '$2 == "bpf_preload_ops" { found = 1 } END { exit !found }' "$kdir/Module.symvers" ||
	fail "$kdir: the kernel does not export bpf_preload_ops (needs CONFIG_BPF_SYSCALL and kernel 5.17 or later)"
