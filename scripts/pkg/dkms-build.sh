#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-build.sh KVER KDIR OUTDIR
#
# `dkms add` and `dkms build` for kernel KVER (kbuild tree KDIR) in private
# DKMS trees under OUTDIR/dkms/, the system's untouched: OUTDIR/bpf_preload.ko
# (as DKMS built it, decompressed) and OUTDIR/make.log. DKMS's output and
# make.log go to stdout. The exit status is dkms's (77: declined this kernel,
# BUILD_EXCLUSIVE_* in dkms.conf).
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 KVER KDIR OUTDIR" >&2; exit 2; }
kver=$1 kdir=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$top/scripts/lib/common.sh"
[ -d "$kdir" ] || die "no kbuild tree at $kdir"
name=bpf-preload
version=$("$top/scripts/pkg/dkms-source.sh" --version)

mkdir -p "$3"
out=$(cd "$3" && pwd)
d=$out/dkms
rm -rf "$d" "$out/bpf_preload.ko" "$out/make.log"
mkdir -p "$d/source" "$d/tree" "$d/install"
"$top/scripts/pkg/dkms-source.sh" "$d/source/$name-$version"
# DKMS signs what it builds, with a key it creates on first use: here too.
export mok_signing_key=$d/mok.key mok_certificate=$d/mok.pub

# DKMS asks readelf whether the kernel was built by clang; Debian's 6.12
# vmlinux has no .comment section, and readelf says so as a "Warning" that is
# about neither the build nor this module: drop exactly that line.
run_dkms() {
	dkms "$@" --sourcetree "$d/source" --dkmstree "$d/tree" --installtree "$d/install" 2>&1 |
		sed "/^readelf: Warning: Section '.comment' was not dumped because it does not exist\$/d"
}

rc=0
run_dkms add -m "$name" -v "$version" && run_dkms build -m "$name" -v "$version" -k "$kver" \
	--kernelsourcedir "$kdir" -j "${BPF_PRELOAD_JOBS:-2}" || rc=$?
built=$d/tree/$name/$version/$kver/$(uname -m)
for log in "$built/log/make.log" "$d/tree/$name/$version/build/make.log"; do
	[ -f "$log" ] || continue
	echo "--- $log"
	tee "$out/make.log" <"$log"
	break
done
[ "$rc" -eq 0 ] || exit "$rc"
# A log without the link step would make a zero-warning check meaningless.
grep -Eq 'LD \[M\] +(.*/)?bpf_preload\.ko$' "$out/make.log" ||
	die "make.log does not show bpf_preload.ko being linked"

ko=$(find "$built/module" -maxdepth 1 -name 'bpf_preload.ko*' -print -quit)
ko_cat "$ko" >"$out/bpf_preload.ko" || die "dkms reported success but built no module in $built/module"
run_dkms status -m "$name" -v "$version" -k "$kver"
