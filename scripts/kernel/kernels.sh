#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's kernels per suite and architecture (ARCH: common.sh's; amd64), from
# each suite's own package lists in the release's chroot of ARCH: a release
# means its main, -updates and -security archives, a -backports suite its own.
#
#   kernels.sh [--arch ARCH] list SUITE...     "SUITE ABI" per generic kernel
#       metapackage (linux-image-6.12-amd64): the newest ABI it names, if with headers
#   kernels.sh [--arch ARCH] fetch SUITE ABI   linux-headers-ABI and its gcc's g++
#       in the suite's chroot (a foreign ARCH's unpacked, with linux-kbuild and a
#       cross g++); vmlinuz, modules/ABI in <cache>/kernels/ABI/
#   kernels.sh facts SUITE ABI   tab-separated: compiler, libbpf-dev, dwarves, dkms
#   kernels.sh stable SUITE...   the one that is Debian's stable release
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE CHROOT=$HERE/chroot.sh
# shellcheck source=scripts/lib/common.sh
. "$HERE/../lib/common.sh"

ARCH=amd64
if [[ ${1:-} == --arch ]]; then ARCH=${2:?--arch needs a Debian architecture}; shift 2; fi
arch_facts "$ARCH"
tmp=""
trap 'rm -rf "$tmp"' EXIT
# [.], not \., so that bash and awk read it alike.
readonly ABI_RE="[0-9]+[.][0-9]+[.][0-9][0-9a-z.+~]*(-[0-9]+)?-$FLAVOUR"

cmd_list() {
	local suite re lists abis abi
	(($#)) || usage "list: name at least one suite"
	for suite in "$@"; do
		"$CHROOT" ensure "$suite:$ARCH"
		re="_dists_$suite(-updates|-security)?_"
		mapfile -t lists < <(find "$("$CHROOT" path "$suite:$ARCH")/var/lib/apt/lists" \
			-maxdepth 1 -type f -regextype posix-extended -regex ".*${re}main_binary-${ARCH}_Packages")
		((${#lists[@]})) || die "$suite: no package lists in its chroot"
		# "META ABI HEADERS" per ABI a metapackage depends on; per META, the newest.
		abis=$(awk -v re="^linux-image-($ABI_RE)\$" \
			-v meta_re="^linux-image-([0-9]+[.][0-9]+-)?$FLAVOUR\$" '
			$1 == "Package:" { pkg = $2; meta = (pkg ~ meta_re) ? pkg : "" }
			$1 == "Package:" && pkg ~ /^linux-headers-/ { headers[substr(pkg, 15)] = 1 }
			$1 == "Depends:" && meta != "" {
				n = split(substr($0, 10), deps, ",")
				for (i = 1; i <= n; i++) {
					split(deps[i], w, " ")
					if (w[1] ~ re) dep[meta " " substr(w[1], 13)] = 1
				}
			}
			END { for (d in dep) { split(d, w, " "); print d, (w[2] in headers) } }' "${lists[@]}" |
			sort -k1,1 -k2,2Vr | awk '!seen[$1]++ && $3 { print $2 }' | sort -V -u)
		[[ -n $abis ]] || die "$suite: no generic $ARCH kernel metapackage with headers"
		while read -r abi; do echo "$suite $abi"; done <<<"$abis"
	done
}

# apt on the suite's ARCH chroot's files, run by this machine's apt (the
# chroot's own would run under qemu-user, half a minute a call).
arch_apt() { # arch_apt apt-cache|apt-get ARGS...
	"$1" -o Dir="$arch_root" -o Dir::State::status="$arch_root/var/lib/dpkg/status" \
		-o APT::Architecture="$ARCH" -o APT::Sandbox::User=root "${@:2}"
}

has_pkg() { # has_pkg NAME: apt knows a candidate in the ARCH chroot
	arch_apt apt-cache policy "$1" 2>/dev/null |
		awk '$1 == "Candidate:" { found = ($2 != "(none)") } END { exit !found }'
}

unpack_debs() { # unpack_debs DIR PKG...: apt-get download, unpacked into DIR
	local dir=$1 deb
	shift
	tmp=$(mktemp -d "$CACHE/kernels/debs.XXXXXX")
	log "$suite: downloading $*"
	(cd "$tmp" && arch_apt apt-get -q download "$@") >&2 || die "apt-get download $* failed"
	# A merged-/usr DIR keeps its /lib symlink (dpkg-deb -x would not).
	for deb in "$tmp"/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$dir" ||
			die "unpacking $deb failed"
	done
	rm -rf "$tmp"
}

cc_text() { sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$1/.config"; }

# The kernel's gcc-N and g++-N (-TRIPLET if foreign); none if clang built it.
compiler_packages() {
	local text suffix=""
	text=$(cc_text "$kdir")
	grep -q '^CONFIG_CC_IS_GCC=y' "$kdir/.config" || return 0
	[[ $text =~ ^([a-z0-9_]+-linux-gnu-)?gcc-([0-9]+)\  ]] ||
		die "cannot tell the gcc of $kdir from '$text'"
	[[ $ARCH == "$NATIVE" ]] || suffix=-$TRIPLET
	echo "gcc-${BASH_REMATCH[2]}$suffix g++-${BASH_REMATCH[2]}$suffix"
}

# A foreign kernel's headers and -common unpacked (installed, they would pull
# its compiler); their scripts/ and tools/ are the build machine's linux-kbuild.
unpack_foreign_headers() {
	local deps common kbuild
	deps=$(arch_apt apt-cache show --no-all-versions "linux-headers-$abi" |
		sed -n 's/^Depends: //p' | tr ',' '\n' | awk '{ print $1 }')
	common=$(grep -m1 -- '-common$' <<<"$deps") || die "linux-headers-$abi: no -common dependency"
	kbuild=$(grep -m1 '^linux-kbuild-' <<<"$deps") || die "linux-headers-$abi: no linux-kbuild"
	"$CHROOT" install "$suite" "$kbuild"
	unpack_debs "$build_root" "linux-headers-$abi" "$common"
}

# The packages of ABI's vmlinuz, modules, modules.order and .builtin: from 7.0
# linux-binary-, linux-modules- and linux-base-ABI; before, the (-unsigned) image.
image_packages() {
	if has_pkg "linux-binary-$abi" && has_pkg "linux-modules-$abi"; then
		echo "linux-binary-$abi" "linux-modules-$abi"
		if has_pkg "linux-base-$abi"; then echo "linux-base-$abi"; fi
	elif has_pkg "linux-image-$abi-unsigned"; then echo "linux-image-$abi-unsigned"
	elif has_pkg "linux-image-$abi"; then echo "linux-image-$abi"
	else die "$suite: no image package of $abi"
	fi
}

first_file() { # first_file DIR PATH...: the first PATH there is under DIR
	local path
	for path in "${@:2}"; do
		[[ -e $1/$path ]] && { echo "$path"; return 0; }
	done
	return 1
}

ensure_image() {
	local dest=$CACHE/kernels/$abi pkgs root m vmlinuz sysmap map=()
	[[ -f $dest/.complete && -e $dest/vmlinuz ]] && return 0
	pkgs=$(image_packages)
	root=$dest.tmp/root
	rm -rf "$dest.tmp" && mkdir -p "$root"
	# shellcheck disable=SC2086 # a list of packages
	unpack_debs "$root" $pkgs
	m=$(first_file "$root" {,usr/}"lib/modules/$abi/kernel") || die "$pkgs: no modules of $abi"
	m=${m%"/$abi/kernel"}
	vmlinuz=$(first_file "$root" "boot/vmlinuz-$abi" "boot/vmlinux-$abi" "$m/$abi/vmlinuz" \
		"$m/$abi/vmlinux" "$m/$abi/vmlinuz.unsigned") || die "$pkgs: no vmlinuz of $abi"
	ln -s "root/$vmlinuz" "$dest.tmp/vmlinuz"
	ln -s "root/$m" "$dest.tmp/modules"
	# The image ships no modules.dep (its postinst makes one).
	if sysmap=$(first_file "$root" "boot/System.map-$abi" "$m/$abi/System.map"); then
		map=(-F "$root/$sysmap")
	fi
	depmod -b "$root/${m%lib/modules}" "${map[@]}" "$abi" || die "depmod $abi failed"
	for m in modules.dep modules.order modules.builtin; do
		[[ -f $dest.tmp/modules/$abi/$m ]] || die "$pkgs: no $m for $abi"
	done
	touch "$dest.tmp/.complete"
	replace "$dest.tmp" "$dest"
}

cmd_fetch() {
	local compilers
	(($# == 2)) || usage
	suite=$1 abi=$2
	[[ $abi =~ ^$ABI_RE$ ]] || die "bad $ARCH ABI '$abi'"
	"$CHROOT" ensure "$suite" # as root, or it fails
	"$CHROOT" ensure "$suite:$ARCH"
	need kmod
	build_root=$("$CHROOT" path "$suite") arch_root=$("$CHROOT" path "$suite:$ARCH")
	kdir=$build_root/usr/src/linux-headers-$abi
	mkdir -p "$CACHE/kernels"
	lock "$CACHE/kernels/.lock-$abi"
	if [[ $ARCH == "$NATIVE" ]]; then
		"$CHROOT" install "$suite" "linux-headers-$abi"
	elif [[ ! -f $kdir/.config ]]; then
		unpack_foreign_headers
	fi
	[[ -f $kdir/.config && -f $kdir/Makefile && -x $kdir/scripts/basic/fixdep ]] ||
		die "$kdir is not a kbuild tree for this machine"
	compilers=$(compiler_packages)
	# shellcheck disable=SC2086 # a list of packages
	[[ -z $compilers ]] || "$CHROOT" install "$suite" $compilers
	ensure_image
}

cmd_facts() {
	local root p
	(($# == 2)) || usage
	root=$("$CHROOT" path "$1")
	printf '%s' "$(cc_text "$root/usr/src/linux-headers-$2")"
	for p in libbpf-dev dwarves dkms; do
		printf '\t%s' "$(dpkg --root="$root" -s "$p" 2>/dev/null | sed -n 's/^Version: //p')"
	done
	printf '\n'
}

cmd_stable() { # the suite whose Release file calls it "stable"
	local suite root
	for suite in "$@"; do
		[[ $suite == *-backports ]] && continue
		"$CHROOT" ensure "$suite"
		root=$("$CHROOT" path "$suite")
		grep -qx 'Suite: stable' "$root/var/lib/apt/lists/"*"_dists_${suite}_InRelease" \
			2>/dev/null && { echo "$suite"; return 0; }
	done
	die "none of $* is Debian's current stable release"
}

USAGE="[--arch ARCH] list SUITE... | fetch SUITE ABI | facts SUITE ABI | stable SUITE..."
case ${1:-} in
list | fetch | facts | stable) "cmd_$1" "${@:2}" ;;
*) usage ${1:+"unknown command '$1'"} ;;
esac
