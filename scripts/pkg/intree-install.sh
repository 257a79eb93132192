#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# intree-install.sh <kernel-source-tree>
#
# Our sources as the tree's kernel/bpf/preload (README.md, "Built into the
# kernel"): all there but its Kconfig goes, then the module's source list less
# the out-of-tree build files. Idempotent: files already right are left alone
# (kbuild rebuilds only what changed), others replaced by new files, never
# written through (the tree may be hard-linked, scripts/kernel/kernel-build.sh).
set -euo pipefail

readonly PROG=${0##*/}
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

(($# == 1)) || { echo "usage: $PROG <kernel-source-tree>" >&2; exit 2; }
tree=$(cd "$1" && pwd) || die "no directory $1"
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
dest=$tree/kernel/bpf/preload

[[ -f $tree/Makefile && -f $tree/kernel/bpf/Makefile ]] || die "$tree is not a kernel source tree"
[[ -f $dest/Kconfig ]] || die "$dest/Kconfig missing: this kernel has no BPF preload to replace"
grep -q '^config BPF_PRELOAD_UMD$' "$dest/Kconfig" || die "$dest/Kconfig has no BPF_PRELOAD_UMD"
grep -Eq '^obj-\$\(CONFIG_BPF_PRELOAD\)[[:space:]]*\+=[[:space:]]*preload/' "$tree/kernel/bpf/Makefile" ||
	die "$tree/kernel/bpf/Makefile does not descend into preload/ for CONFIG_BPF_PRELOAD"

mapfile -t files < <(scripts/pkg/dkms-source.sh --list |
	grep -vx -e dkms.conf -e Makefile -e 'scripts/.*')
# Everything else goes: the kernel's C implementation, its Makefiles, ...
mapfile -t gone < <(cd "$dest" && find . \( -type f -o -type l \) -printf '%P\n' |
	grep -vxF -f <(printf '%s\n' Kconfig "${files[@]}"))
(cd "$dest" && rm -f -- "${gone[@]}")
find "$dest" -mindepth 1 -type d -empty -delete

copied=0
for f in "${files[@]}"; do
	cmp -s "$f" "$dest/$f" && continue
	# install unlinks the old file first: never writes through a hard link.
	install -D -m 644 "$f" "$dest/$f"
	copied=$((copied + 1))
done
echo "$PROG: $dest: $copied file(s) updated, ${#gone[@]} removed, Kconfig kept"
