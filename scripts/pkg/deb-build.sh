#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-build.sh [OUTDIR]    build bpf-preload-dkms_<version>_all.deb (`make deb`)
#
# Builds the Debian package with Debian's own tooling (dpkg-buildpackage,
# debhelper and dh-dkms's dh_dkms, installed from apt when missing) in a
# staged copy of the sources, build/deb/bpf-preload-dkms-<version>/, so the
# working tree gets no build products. The package holds the DKMS source tree
# /usr/src/bpf-preload-<version>/; installing it builds the module for every
# kernel with headers. The .deb is copied to OUTDIR (default: the top of the
# tree) and its path printed last.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
outdir=${1:-$top}

need=(build-essential dpkg-dev debhelper dh-dkms)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "deb-build.sh: install ${missing[*]} (as root)" >&2; exit 1; }
	echo "deb-build.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get -qq update && apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null; }
fi

version=$(scripts/pkg/dkms-source.sh --version)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "$version" != "$deb_version" ]; then
	echo "deb-build.sh: dkms.conf says $version, debian/changelog $deb_version; make them agree" >&2
	exit 1
fi

work=build/deb
src=$work/bpf-preload-dkms-$version
rm -rf "$work"
mkdir -p "$src"
scripts/pkg/dkms-source.sh "$src"
tar -c debian scripts/pkg/dkms-source.sh | tar -x -C "$src"

# -b: binary only (a native package; the source is this repository).
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; echo "deb-build.sh: dpkg-buildpackage failed" >&2; exit 1; }

deb=$work/bpf-preload-dkms_${version}_all.deb
[ -f "$deb" ] || { cat "$work/build.log"; echo "deb-build.sh: $deb not built" >&2; exit 1; }
mkdir -p "$outdir"
cp "$deb" "$outdir/"
echo "$(cd "$outdir" && pwd)/${deb##*/}"
