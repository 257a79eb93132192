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
#       eval "$(scripts/debian-kernel.sh fetch "$(scripts/debian-kernel.sh abi 6.12)")"
set -euo pipefail

readonly PROG=${0##*/}
readonly CACHE=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
readonly APT_MAX_AGE_HOURS=${BPF_PRELOAD_APT_MAX_AGE:-24}
readonly APT_LISTS=/var/lib/apt/lists
# Wait for other apt/dpkg users (parallel sessions) instead of failing.
readonly -a APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat >&2 <<EOF
usage: $PROG abi [--update] <series>      newest ABI of a series (6.1, 6.12)
       $PROG fetch [--update] <abi>       install headers, unpack image to cache
EOF
	exit 2
}

need_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, $CACHE)"
}

apt_update() {
	need_root
	log "running apt-get update"
	apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update failed"
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
	if [[ $force == 1 ]] || lists_stale; then
		apt_update
	fi
}

# Does apt have an installable (candidate) version of package $1?
has_candidate() {
	local cand
	cand=$(apt-cache policy -- "$1" 2>/dev/null |
		awk '$1 == "Candidate:" { print $2; exit }')
	[[ -n $cand && $cand != "(none)" ]]
}

# All ABIs of series $1 for the generic amd64 flavour (no cloud/rt), sorted
# oldest to newest. Matches linux-image-6.1.0-56-amd64-unsigned and
# linux-image-6.12.117+deb12-amd64-unsigned.
list_abis() {
	local series_re=${1//./\\.}
	apt-cache pkgnames linux-image- 2>/dev/null |
		sed -nE "s/^linux-image-(${series_re}\.[0-9][0-9a-z.+~]*(-[0-9]+)?-amd64)-unsigned\$/\1/p" |
		sort -V -u
}

cmd_abi() {
	local force=0 series=""
	while (($#)); do
		case $1 in
		--update) force=1 ;;
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
	[[ -n $abis ]] || die "no linux-image-${series}.*-amd64-unsigned package known to apt"

	# Newest first; take the first one whose image and headers are installable.
	local abi
	while read -r abi; do
		if has_candidate "linux-image-${abi}-unsigned" && has_candidate "linux-headers-${abi}"; then
			printf '%s\n' "$abi"
			return 0
		fi
		log "skipping ${abi}: image or headers not installable"
	done < <(tac <<<"$abis")
	die "no installable ${series} kernel (image + headers) found"
}

valid_abi() {
	[[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9][0-9a-z.+~]*(-[0-9]+)?-amd64$ ]]
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
	local abi=$1 pkg="linux-image-$1-unsigned"
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
		if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" -qq download "$pkg" >&2); then
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
		-h | --help) usage ;;
		-*) die "unknown option: $1" ;;
		*) [[ -z $abi ]] || usage; abi=$1 ;;
		esac
		shift
	done
	valid_abi "$abi" || die "bad ABI '${abi}' (want e.g. 6.1.0-56-amd64; see '$PROG abi 6.1')"
	need_root
	if [[ $force == 1 ]]; then apt_update; fi

	ensure_headers "$abi"
	ensure_image "$abi"

	local root="$CACHE/kernels/$abi" moddir kver
	moddir=$(find_moddir "$root" "$abi") || die "no lib/modules/$abi in $root"
	kver=${moddir##*/}
	[[ $kver == "$abi" ]] || die "image kernel release $kver != $abi"

	printf 'kdir=%s\n' "/usr/src/linux-headers-$abi"
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
