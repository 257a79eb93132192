#!/usr/bin/env bash
# Resolve and fetch Debian amd64 kernels for building and VM-testing bpf_preload.
#
#   debian-kernel.sh abi [--update] <series>
#       Print the newest Debian amd64 kernel ABI (== `uname -r`) of <series>
#       ("6.1", "6.12", ...) known to apt, e.g. 6.1.0-56-amd64 or
#       6.12.117+deb12-amd64. Nothing is hard-coded: the answer comes from the
#       apt package lists. The lists are refreshed (apt-get update) only when
#       they are missing, older than BPF_PRELOAD_APT_MAX_AGE hours (default 24),
#       or when --update is given.
#
#   debian-kernel.sh fetch [--update] <abi>
#       Make sure linux-headers-<abi> is installed (the kbuild tree) and that
#       the unsigned kernel image package is unpacked in the cache
#       ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/kernels/<abi>/ (outside
#       git; idempotent). Prints key=value lines on stdout (apt chatter goes to
#       stderr):
#           kdir=/usr/src/linux-headers-<abi>     kbuild dir for `make -C`
#           vmlinuz=<cache>/kernels/<abi>/boot/vmlinuz-<abi>
#           kver=<abi>                            uname -r of that kernel
#           moddir=<cache>/kernels/<abi>/lib/modules/<abi>   in-tree modules
#           root=<cache>/kernels/<abi>            the unpacked package
#
#   Typical use:
#       eval "$(scripts/kernel/debian-kernel.sh fetch "$(scripts/kernel/debian-kernel.sh abi 6.12)")"
#
#   --arch s390x (abi and fetch; fetch also infers it from an ABI ending in
#   -s390x): Debian's s390x kernels, e.g. 6.1.0-50-s390x or
#   6.12.95+deb12-s390x (bookworm has 6.12 for s390x only in
#   bookworm-backports). Nothing is installed on the host: packages come
#   through scripts/kernel/apt-private.sh (a private apt configuration with the
#   host's release, -updates, -security and -backports, amd64 + s390x).
#   fetch unpacks linux-image-<abi> (s390x has no -unsigned package) into
#   the same cache directory, and builds a private kbuild tree in
#   <cache>/kbuild/<abi>/ out of linux-headers-<abi>, its -common package and
#   the amd64 linux-kbuild package of the very same version (the host runs
#   fixdep and modpost); its kdir= is
#   <cache>/kbuild/<abi>/usr/src/linux-headers-<abi>. Cross-build with
#   make KDIR=$kdir ARCH=s390 CROSS_COMPILE=s390x-linux-gnu-.
set -euo pipefail

readonly PROG=${0##*/}
readonly CACHE=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
readonly APT_MAX_AGE_HOURS=${BPF_PRELOAD_APT_MAX_AGE:-24}
readonly APT_LISTS=/var/lib/apt/lists
# Wait for other apt/dpkg users (parallel sessions) instead of failing.
readonly -a APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
APT_PRIVATE=$(cd "$(dirname "$0")" && pwd)/apt-private.sh
readonly APT_PRIVATE
# Kernel architecture (Debian's name; the flavour suffix of the ABI).
ARCH=amd64

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat >&2 <<EOF
usage: $PROG abi [--update] [--arch amd64|s390x] <series>
                                          newest ABI of a series (6.1, 6.12)
       $PROG fetch [--update] [--arch amd64|s390x] <abi>
                                          install headers, unpack image to cache
EOF
	exit 2
}

need_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, $CACHE)"
}

apt_update() {
	need_root
	if [[ $ARCH != amd64 ]]; then
		"$APT_PRIVATE" --update cache stats >/dev/null || die "apt-private.sh update failed"
		return
	fi
	log "running apt-get update"
	apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update failed"
}

# apt-cache on the host's configuration (amd64) or the private one.
apt_cache() {
	if [[ $ARCH == amd64 ]]; then apt-cache "$@"; else "$APT_PRIVATE" cache "$@"; fi
}

set_arch() {
	case $1 in
	amd64 | s390x) ARCH=$1 ;;
	*) die "unsupported --arch '$1' (amd64 or s390x)" ;;
	esac
}

# The kernel image package of ABI $1: amd64 has signed and -unsigned
# images (we want the unsigned one), s390x only the plain one.
image_pkg() {
	if [[ $ARCH == amd64 ]]; then printf 'linux-image-%s-unsigned\n' "$1"
	else printf 'linux-image-%s:%s\n' "$1" "$ARCH"
	fi
}

# True when the apt package lists are missing or older than the max age.
lists_stale() {
	local newest
	newest=$(find "$APT_LISTS" -maxdepth 1 -type f -name '*_Packages*' \
		-printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
	[[ -z $newest ]] && return 0
	local now=${EPOCHSECONDS:-$(date +%s)}
	(( now - ${newest%.*} > APT_MAX_AGE_HOURS * 3600 ))
}

ensure_lists() {
	local force=$1
	# The private configuration refreshes its own lists when stale.
	if [[ $ARCH != amd64 ]]; then
		if [[ $force == 1 ]]; then apt_update; fi
		return
	fi
	if [[ $force == 1 ]] || lists_stale; then
		apt_update
	fi
}

# Does apt have an installable (candidate) version of package $1?
has_candidate() {
	local cand
	cand=$(apt_cache policy -- "$1" 2>/dev/null |
		awk '$1 == "Candidate:" { print $2; exit }')
	[[ -n $cand && $cand != "(none)" ]]
}

# All ABIs of series $1 for the generic amd64 flavour (no cloud/rt), sorted
# oldest to newest. Matches linux-image-6.1.0-56-amd64-unsigned and
# linux-image-6.12.117+deb12-amd64-unsigned; for s390x
# linux-image-6.1.0-50-s390x and linux-image-6.12.95+deb12-s390x.
list_abis() {
	local series_re=${1//./\\.} suffix=-unsigned
	[[ $ARCH == amd64 ]] || suffix=""
	apt_cache pkgnames linux-image- 2>/dev/null |
		sed -nE "s/^linux-image-(${series_re}\.[0-9][0-9a-z.+~]*(-[0-9]+)?-${ARCH})${suffix}\$/\1/p" |
		sort -V -u
}

cmd_abi() {
	local force=0 series=""
	while (($#)); do
		case $1 in
		--update) force=1 ;;
		--arch) set_arch "${2:?--arch needs a value}"; shift ;;
		-h | --help) usage ;;
		-*) die "unknown option: $1" ;;
		*) [[ -z $series ]] || usage; series=$1 ;;
		esac
		shift
	done
	[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "series must look like 6.1 or 6.12, got '${series}'"
	ensure_lists "$force"

	local abis
	abis=$(list_abis "$series")
	if [[ -z $abis && $force == 0 ]]; then
		# Lists present but maybe pruned/old: one refresh before giving up.
		apt_update
		abis=$(list_abis "$series")
	fi
	[[ -n $abis ]] || die "no $(image_pkg "${series}.*-$ARCH") package known to apt"

	# Newest first; take the first one whose image and headers are installable.
	local abi
	while read -r abi; do
		if has_candidate "$(image_pkg "$abi")" && has_candidate "linux-headers-${abi}"; then
			printf '%s\n' "$abi"
			return 0
		fi
		log "skipping ${abi}: image or headers not installable"
	done < <(tac <<<"$abis")
	die "no installable ${series} kernel (image + headers) found"
}

valid_abi() {
	[[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9][0-9a-z.+~]*(-[0-9]+)?-${ARCH}$ ]]
}

pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' -- "$1" 2>/dev/null) == "install ok installed" ]]
}

ensure_headers() {
	local abi=$1 pkg="linux-headers-$1"
	if ! pkg_installed "$pkg"; then
		has_candidate "$pkg" || apt_update
		log "installing $pkg"
		DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -y -qq \
			--no-install-recommends install "$pkg" >&2 ||
			die "apt-get install $pkg failed"
	fi
	[[ -f /usr/src/linux-headers-$abi/Makefile ]] ||
		die "/usr/src/linux-headers-$abi/Makefile missing after installing $pkg"
}

# A field of the candidate version of package $2 (apt-cache show).
pkg_field() {
	apt_cache show --no-all-versions -- "$2" 2>/dev/null |
		awk -v f="$1:" '$1 == f { sub(/^[^:]*: */, ""); print; exit }'
}

# Foreign (s390x) kernels: a kbuild tree unpacked from the packages, never
# installed. The headers package's scripts/ and tools/ are relative symlinks
# into ../../lib/linux-kbuild-<ver>/, so unpacking linux-headers-<abi>, its
# -common package and the amd64 linux-kbuild package of the same version
# into one root makes them resolve to host (amd64) fixdep, modpost, etc.
ensure_foreign_kbuild() {
	local abi=$1 hdr="linux-headers-$1"
	local dest="$CACHE/kbuild/$abi"
	[[ -f $dest/.complete ]] && return 0

	mkdir -p "$CACHE/kbuild"
	exec {lockfd}>"$CACHE/kbuild/.lock-$abi"
	flock "$lockfd"
	if [[ ! -f $dest/.complete ]]; then
		has_candidate "$hdr:$ARCH" || apt_update
		local ver deps common kbuild
		ver=$(pkg_field Version "$hdr:$ARCH")
		deps=$(pkg_field Depends "$hdr:$ARCH" | tr ',' '\n' | sed 's/^ *//')
		common=$(awk '$1 ~ /^linux-headers-.*-common$/ { print $1; exit }' <<<"$deps")
		kbuild=$(awk '$1 ~ /^linux-kbuild-/ { print $1; exit }' <<<"$deps")
		[[ -n $ver && -n $common && -n $kbuild ]] ||
			die "$hdr:$ARCH: cannot tell its version, -common and linux-kbuild packages"
		local tmp
		tmp=$(mktemp -d "$CACHE/kbuild/.tmp-$abi.XXXXXX")
		log "unpacking $hdr:$ARCH $common $kbuild:amd64 ($ver) into $dest"
		# The host tools must be those of the very same kernel version.
		if ! "$APT_PRIVATE" unpack "$tmp/root" "$hdr:$ARCH=$ver" "$common=$ver" \
			"$kbuild:amd64=$ver"; then
			rm -rf "$tmp"
			die "cannot fetch $hdr:$ARCH, $common and $kbuild:amd64, all version $ver"
		fi
		# Its Makefile includes the -common one by absolute path.
		local mk="$tmp/root/usr/src/$hdr/Makefile"
		[[ -f $mk ]] || { rm -rf "$tmp"; die "$hdr has no Makefile"; }
		sed -i "s|^include /usr/src/|include $dest/usr/src/|" "$mk"
		if [[ ! -f $tmp/root/usr/src/$hdr/scripts/Makefile.build ||
			! -x $tmp/root/usr/src/$hdr/scripts/basic/fixdep ]]; then
			rm -rf "$tmp"
			die "$hdr: scripts/ does not resolve to an amd64 $kbuild"
		fi
		printf '%s\n' "$ver" >"$tmp/root/.complete"
		rm -rf "$dest"
		mv "$tmp/root" "$dest"
		rm -rf "$tmp"
	fi
	flock -u "$lockfd"
	exec {lockfd}>&-
}

# Locate the modules dir inside an unpacked image package (bookworm ships
# /lib/modules, usr-merged packages ship /usr/lib/modules).
find_moddir() {
	local root=$1 abi=$2 d
	for d in "$root/lib/modules/$abi" "$root/usr/lib/modules/$abi"; do
		[[ -d $d ]] && { printf '%s\n' "$d"; return 0; }
	done
	return 1
}

ensure_image() {
	local abi=$1 pkg
	pkg=$(image_pkg "$abi")
	local dest="$CACHE/kernels/$abi"
	[[ -f $dest/.complete ]] && return 0

	mkdir -p "$CACHE/kernels"
	# Serialise concurrent fetches of the same ABI.
	exec {lockfd}>"$CACHE/kernels/.lock-$abi"
	flock "$lockfd"
	if [[ ! -f $dest/.complete ]]; then
		has_candidate "$pkg" || apt_update
		local tmp
		tmp=$(mktemp -d "$CACHE/kernels/.tmp-$abi.XXXXXX")
		# apt-get download drops privileges to _apt when it can.
		if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
		log "downloading $pkg"
		if [[ $ARCH != amd64 ]]; then
			"$APT_PRIVATE" download "$tmp" "$pkg" || { rm -rf "$tmp"; die "downloading $pkg failed"; }
		elif ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" -qq download "$pkg" >&2); then
			rm -rf "$tmp"
			die "apt-get download $pkg failed"
		fi
		local deb
		deb=$(find "$tmp" -maxdepth 1 -name '*.deb' -print -quit)
		[[ -n $deb ]] || { rm -rf "$tmp"; die "no .deb downloaded for $pkg"; }
		log "unpacking $(basename "$deb") into $dest"
		mkdir "$tmp/root"
		dpkg-deb -x "$deb" "$tmp/root" || { rm -rf "$tmp"; die "dpkg -x $deb failed"; }
		[[ -f $tmp/root/boot/vmlinuz-$abi ]] ||
			{ rm -rf "$tmp"; die "$pkg has no boot/vmlinuz-$abi"; }
		# The package ships no modules.dep (its postinst runs depmod): make one
		# so that the modules can be resolved with their dependencies.
		local m
		m=$(find_moddir "$tmp/root" "$abi") || { rm -rf "$tmp"; die "$pkg has no modules/$abi"; }
		command -v depmod >/dev/null 2>&1 ||
			DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -y -qq install kmod >&2
		depmod -b "${m%/lib/modules/*}" -F "$tmp/root/boot/System.map-$abi" "$abi" ||
			{ rm -rf "$tmp"; die "depmod for $abi failed"; }
		basename "$deb" >"$tmp/root/.complete"
		rm -rf "$dest"
		mv "$tmp/root" "$dest"
		rm -rf "$tmp"
	fi
	flock -u "$lockfd"
	exec {lockfd}>&-
}

cmd_fetch() {
	local force=0 abi=""
	while (($#)); do
		case $1 in
		--update) force=1 ;;
		--arch) set_arch "${2:?--arch needs a value}"; shift ;;
		-h | --help) usage ;;
		-*) die "unknown option: $1" ;;
		*) [[ -z $abi ]] || usage; abi=$1 ;;
		esac
		shift
	done
	if [[ $abi == *-s390x ]]; then set_arch s390x; fi
	valid_abi "$abi" || die "bad ABI '${abi}' (want e.g. 6.1.0-56-amd64; see '$PROG abi 6.1')"
	need_root
	if [[ $force == 1 ]]; then apt_update; fi

	local kdir="/usr/src/linux-headers-$abi"
	if [[ $ARCH == amd64 ]]; then
		ensure_headers "$abi"
	else
		ensure_foreign_kbuild "$abi"
		kdir="$CACHE/kbuild/$abi/usr/src/linux-headers-$abi"
	fi
	ensure_image "$abi"

	local root="$CACHE/kernels/$abi" moddir kver
	moddir=$(find_moddir "$root" "$abi") || die "no lib/modules/$abi in $root"
	kver=${moddir##*/}
	[[ $kver == "$abi" ]] || die "image kernel release $kver != $abi"

	if [[ $ARCH != amd64 ]]; then
		local image_ver
		image_ver=$(sed -n 's/^[^_]*_\([^_]*\)_.*/\1/p' "$root/.complete")
		image_ver=${image_ver//%3a/:}
		[[ $image_ver == "$(cat "$CACHE/kbuild/$abi/.complete")" ]] ||
			die "image $image_ver and headers $(cat "$CACHE/kbuild/$abi/.complete") of $abi differ; run with --update"
	fi

	printf 'kdir=%s\n' "$kdir"
	printf 'vmlinuz=%s\n' "$root/boot/vmlinuz-$abi"
	printf 'kver=%s\n' "$kver"
	printf 'moddir=%s\n' "$moddir"
	printf 'root=%s\n' "$root"
}

main() {
	(($#)) || usage
	local cmd=$1
	shift
	case $cmd in
	abi) cmd_abi "$@" ;;
	fetch) cmd_fetch "$@" ;;
	-h | --help | help) usage ;;
	*) die "unknown command: $cmd" ;;
	esac
}

main "$@"
