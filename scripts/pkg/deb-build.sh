#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-build.sh [OUTDIR]    build bpf-preload-dkms_<version>_all.deb (`make deb`)
#
# dpkg-buildpackage (with debhelper and dh-dkms, installed when missing) in
# a staged copy of the sources under build/deb/; the .deb goes to OUTDIR
# (default: the top of the tree) and its path is printed last.
set -euo pipefail

cd "$(dirname "$0")/../.."
outdir=${1:-$PWD}
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
need build-essential dpkg-dev debhelper dh-dkms

version=$(scripts/pkg/dkms-source.sh --version)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$version" = "$deb_version" ] ||
	die "dkms.conf says $version, debian/changelog $deb_version; make them agree"

work=build/deb
src=$work/bpf-preload-dkms-$version
deb=$work/bpf-preload-dkms_${version}_all.deb
rm -rf "$work"
scripts/pkg/dkms-source.sh "$src"
tar -c debian scripts/pkg/dkms-source.sh | tar -x -C "$src"
# -b: binary only (a native package; the source is this repository).
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 || [ ! -f "$deb" ]; then
	cat "$work/build.log"
	die "dpkg-buildpackage did not build $deb"
fi
mkdir -p "$outdir"
cp "$deb" "$outdir/"
echo "$(cd "$outdir" && pwd)/${deb##*/}"
