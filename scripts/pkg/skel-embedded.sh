#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# skel-embedded.sh MODULE.ko
#
# Prints every light skeleton header of iterators/ that MODULE.ko embeds:
# both of its blobs (opts.insns, opts.data) appear byte for byte in the
# module. The four skeletons' blobs all differ, so this tells which one a
# build picked without trusting the preprocessor.
set -euo pipefail

die() { printf 'skel-embedded.sh: %s\n' "$*" >&2; exit 2; }
(($# == 1)) || die "usage: skel-embedded.sh MODULE.ko"
module=$1
[[ -f $module ]] || die "$module: no such file"

# Blob $2 (insns or data) of skeleton header $1 as " xx" tokens, as od
# prints bytes. bpftool writes it as a C string literal of \xNN and \0
# escapes split by backslash-newline continuations.
hex_of_blob() {
	awk -v want="opts.$2 = (void *)\"" '
		index($0, want) { on = 1; next }
		on && /^";/ { exit }
		on && /";$/ { sub(/";$/, ""); print; exit }
		on { print }
	' "$1" | sed -e 's/\\$//' | tr -d '\n' |
		sed -e 's/\\x\([0-9a-f][0-9a-f]\)/ \1/g' -e 's/\\0/ 00/g'
}

module_hex=$(od -An -v -tx1 "$module" | tr -d '\n')
for h in "$(dirname "$0")"/../../iterators/*.lskel-*-endian.h; do
	embedded=1
	for blob in insns data; do
		b=$(hex_of_blob "$h" "$blob")
		# Anything but " xx" tokens means the header format changed.
		[[ -n $b && -z ${b//[ 0-9a-f]/} ]] || die "$h: cannot read its opts.$blob blob"
		[[ $module_hex == *"$b"* ]] || { embedded=0; break; }
	done
	((embedded)) || continue
	basename "$h"
done
