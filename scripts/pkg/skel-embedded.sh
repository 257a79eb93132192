#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# skel-embedded.sh MODULE.ko [SKELETON.h...]
#
# Prints the name of every light skeleton header (default: all of
# iterators/*.lskel-*.h) that MODULE.ko embeds, one per line, and exits 0 if
# there is at least one. A skeleton counts as embedded when both of its
# blobs, the loader program (opts.insns) and the loader data (opts.data,
# BTF and the programs' instructions), appear byte for byte in the module
# file. The blobs of the four skeletons differ from each other in both
# byte order and variant, so this tells which one a build picked without
# trusting the preprocessor: e.g. an s390x module must embed exactly one
# *-big-endian.h.
set -euo pipefail

die() { printf 'skel-embedded.sh: %s\n' "$*" >&2; exit 2; }

(($#)) || die "usage: skel-embedded.sh MODULE.ko [SKELETON.h...]"
module=$1
shift
[[ -f $module ]] || die "$module: no such file"
if (($#)); then
	skels=("$@")
else
	top=$(cd "$(dirname "$0")/../.." && pwd)
	skels=("$top"/iterators/*.lskel-*-endian.h)
fi

# The file as one line of " xx" tokens (two hex digits each).
hex_of_file() { od -An -v -tx1 "$1" | tr -d '\n'; }

# Blob $2 (insns or data) of skeleton header $1 as " xx" tokens. bpftool
# writes it as a C string literal of \xNN and \0 escapes split by
# backslash-newline continuations.
hex_of_blob() {
	awk -v want="opts.$2 = (void *)\"" '
		index($0, want) { on = 1; next }
		on && /^";/ { exit }
		on && /";$/ { sub(/";$/, ""); print; exit }
		on { print }
	' "$1" | sed -e 's/\\$//' | tr -d '\n' |
		sed -e 's/\\x\([0-9a-f][0-9a-f]\)/ \1/g' -e 's/\\0/ 00/g'
}

module_hex=$(hex_of_file "$module")
found=0
for h in "${skels[@]}"; do
	[[ -f $h ]] || die "$h: no such file"
	ok=1
	for blob in insns data; do
		b=$(hex_of_blob "$h" "$blob")
		# Anything but " xx" tokens means the header format changed.
		[[ -n $b && -z ${b//[ 0-9a-f]/} ]] || die "$h: cannot read its opts.$blob blob"
		[[ $module_hex == *"$b"* ]] || { ok=0; break; }
	done
	if ((ok)); then
		basename "$h"
		found=$((found + 1))
	fi
done
((found > 0))
