#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A cached Debian chroot per release (SUITE:ARCH: of another architecture, run
# by qemu-user; a -backports suite: its release's), the build environment of
# its kernels: the tools a user of that release builds the module with.
#
#   chroot.sh path SUITE           the chroot's directory
#   chroot.sh ensure SUITE         debootstrap it once; apt-get update a day on
#   chroot.sh run SUITE [--root ROOT] [--bind DIR[:AT]]... CMD...   CMD in it
#       (or in ROOT) with /proc, /dev and each DIR (at AT); in the working
#       directory if that is a DIR
#   chroot.sh apt SUITE ARGS...    apt-get -y ARGS... in it
#   chroot.sh install SUITE PKG... those of PKG not installed yet
#   chroot.sh fresh SUITE DIR      DIR: SUITE's release as debootstrap made it
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
readonly MAX_AGE_MINUTES=$((${BPF_PRELOAD_APT_MAX_AGE:-24} * 60))
readonly MIRROR=${BPF_PRELOAD_MIRROR:-http://deb.debian.org/debian}
readonly SECURITY_MIRROR=${BPF_PRELOAD_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# Every build's tools, and the guest's user space (busybox, bpftool).
readonly BASE_PACKAGES=(make g++ dkms libbpf-dev dwarves kmod xz-utils zstd libelf-dev zlib1g-dev
	libzstd-dev ca-certificates busybox-static bpftool)

USAGE="path|ensure|run|apt|install|fresh SUITE[:ARCH] [ARGS...]"
(($# >= 2)) || usage
cmd=$1 suite=$2
shift 2
[[ $suite =~ ^([a-z]+)(-backports)?(:([a-z0-9]+))?$ ]] || die "bad suite '$suite'"
RELEASE=${BASH_REMATCH[1]} SUITE_ARCH=${BASH_REMATCH[4]:-$NATIVE} NAME=${BASH_REMATCH[1]}
[[ $SUITE_ARCH == "$NATIVE" ]] || NAME+=-$SUITE_ARCH
readonly RELEASE SUITE_ARCH NAME ROOT=$CACHE/chroot/$NAME BASE_TAR=$CACHE/chroot/$NAME.base.tar

# qemu-user-static's binfmt_misc entries, with the F flag (the interpreter
# opened now, so that it works inside the chroot).
binfmt() {
	arch_facts "$SUITE_ARCH"
	[[ -e /proc/sys/fs/binfmt_misc/qemu-$QEMU_USER ]] && return 0
	need qemu-user-static
	[[ -e /proc/sys/fs/binfmt_misc/register ]] ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
	log "registering qemu-$QEMU_USER with binfmt_misc"
	cat "/usr/lib/binfmt.d/qemu-$QEMU_USER.conf" >/proc/sys/fs/binfmt_misc/register ||
		die "cannot register qemu-$QEMU_USER with binfmt_misc"
}

# ROOT's apt sources: what a user of the release has by default, and its
# backports (sid has neither security nor backports); no initramfs.
set_up() { # set_up ROOT
	local root=$1 kr=/usr/share/keyrings/debian-archive-keyring.gpg
	local entry="Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: $kr\n"
	# shellcheck disable=SC2059 # the format is ours
	if [[ $RELEASE == sid || $RELEASE == unstable ]]; then
		printf "$entry" "$MIRROR" sid
	else
		printf "$entry\n$entry" "$MIRROR" "$RELEASE $RELEASE-updates $RELEASE-backports" \
			"$SECURITY_MIRROR" "$RELEASE-security"
	fi >"$root/etc/apt/sources.list.d/debian.sources"
	: >"$root/etc/apt/sources.list"
	# sid's Release file may be past its Valid-Until between uploads.
	printf '%s\n' 'Acquire::Check-Valid-Until "false";' 'Acquire::Retries "3";' \
		'Acquire::Languages "none";' 'Dpkg::Options { "--force-confdef"; "--force-confold"; };' \
		>"$root/etc/apt/apt.conf.d/90bpf-preload"
	# Nothing boots from the chroot, and the kernel images that headers
	# packages depend on would each cost a minute of initramfs building.
	[[ -f $root/.bpf-preload-no-initramfs ]] && return 0
	in_ns "$root" dpkg-divert --quiet --local --rename \
		--divert /usr/sbin/update-initramfs.bpf-preload --add /usr/sbin/update-initramfs
	printf '#!/bin/sh\n# bpf-preload build chroot: no initramfs images\nexit 0\n' \
		>"$root/usr/sbin/update-initramfs"
	chmod 755 "$root/usr/sbin/update-initramfs"
	touch "$root/.bpf-preload-no-initramfs"
}

# in_ns ROOT CMD...: as `run` says, the BINDS (DIR:AT); the mounts go away
# with CMD.
BINDS=()
in_ns() {
	local root=$1 b
	shift
	for b in "${BINDS[@]}"; do mkdir -p "$root${b#*:}"; done
	# shellcheck disable=SC2016 # the inner shells expand these
	unshare --mount --propagation private /bin/sh -euc '
		root=$1 binds=$2 cwd=$3; shift 3
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		for b in $binds; do mount --bind "${b%%:*}" "$root${b#*:}"; done
		case " $binds " in *" $cwd:$cwd "*) ;; *) cwd=/ ;; esac
		exec unshare --root="$root" --wd="$cwd" /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
		in_ns "$root" "${BINDS[*]}" "$PWD" "$@"
}

apt_in() { # apt_in ROOT ARGS...
	in_ns "$1" apt-get -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600 \
		--no-install-recommends "${@:2}"
}

install_missing() { # install_missing PKG...
	local missing
	missing=$(missing_packages --root="$ROOT" "$@" | paste -sd' ')
	[[ -z $missing ]] && return 0
	log "$NAME: installing $missing"
	# shellcheck disable=SC2086 # a list of packages
	apt_in "$ROOT" install $missing >&2 || die "$NAME: apt-get install $missing failed"
}

# apt-get update unless our last one is younger than MAX_AGE_MINUTES (a
# stamp: debootstrap's fresh list of the release alone would pass for it,
# and -updates, -security and -backports would never be fetched). A mirror
# mid-sync fails some lists for a while: two more tries, then go on with the
# lists there are (apt says what it could not get) and try again next time.
update_lists() {
	local stamp=$ROOT/.bpf-preload-apt-updated try
	[[ -n $(find "$stamp" -mmin "-$MAX_AGE_MINUTES" 2>/dev/null) ]] && return 0
	log "$RELEASE: apt-get update"
	for try in first second third; do
		apt_in "$ROOT" update >&2 && touch "$stamp" && return 0
		log "$RELEASE: apt-get update failed (the $try time)"
		sleep 5
	done
	find "$ROOT/var/lib/apt/lists" -maxdepth 1 -name '*_Packages' | grep -q . ||
		die "$RELEASE: apt-get update failed and there are no package lists"
	log "$RELEASE: apt-get update failed in part; using the lists there are"
}

create() {
	local tmp=$ROOT.tmp debootstrap_log=$CACHE/chroot/$NAME.debootstrap.log
	need debootstrap
	rm -rf --one-file-system "$tmp"
	mkdir -p "$CACHE/chroot/debs"
	log "debootstrap $RELEASE ($SUITE_ARCH) into $ROOT (once; cached)"
	debootstrap --arch="$SUITE_ARCH" --variant=minbase --cache-dir="$CACHE/chroot/debs" \
		"$RELEASE" "$tmp" "$MIRROR" >"$debootstrap_log" 2>&1 ||
		die "debootstrap $RELEASE ($SUITE_ARCH) failed; see $debootstrap_log"
	# The pristine system, for `fresh`.
	tar -c -C "$tmp" -f "$BASE_TAR" . || die "cannot keep the debootstrap of $NAME"
	date -u +%FT%TZ >"$tmp/.bpf-preload-complete"
	replace "$tmp" "$ROOT"
}

ensure() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
	[[ $SUITE_ARCH == "$NATIVE" ]] || binfmt
	mkdir -p "$CACHE/chroot"
	lock "$CACHE/chroot/.lock-$NAME"
	[[ -f $ROOT/.bpf-preload-complete ]] || create
	set_up "$ROOT"
	update_lists
	# All of them in a new chroot, the rest in one made before the list grew.
	install_missing "${BASE_PACKAGES[@]}"
	unlock
}

case $cmd in
path) echo "$ROOT" ;;
fresh)
	ensure
	[[ -f $BASE_TAR ]] || die "no $BASE_TAR: remove $ROOT to make it anew"
	rm -rf --one-file-system "${1:?fresh needs a directory}"
	mkdir -p "$1"
	tar -x -C "$1" -f "$BASE_TAR" || die "cannot unpack the $NAME base"
	set_up "$1"
	;;
ensure) ensure ;;
run)
	root=$ROOT
	if [[ ${1:-} == --root ]]; then root=${2:?--root needs a directory}; shift 2; else ensure; fi
	while [[ ${1:-} == --bind ]]; do
		dir=$(cd "${2%%:*}" && pwd -P) || die "--bind: no directory ${2%%:*}"
		at=${2#*:}
		[[ $2 == *:* ]] || at=$dir
		BINDS+=("$dir:$at")
		shift 2
	done
	in_ns "$root" "$@"
	;;
apt) ensure; apt_in "$ROOT" "$@" ;;
install) ensure; install_missing "$@" ;;
*) usage "unknown command '$cmd'" ;;
esac
