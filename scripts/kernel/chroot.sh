#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A cached Debian chroot per release, the build environment of that
# release's kernels: its kbuild tools, compilers, dkms, libbpf-dev and
# pahole are the ones a user of that release builds the module with.
#
#   chroot.sh path SUITE           print the chroot's directory
#   chroot.sh ensure SUITE         debootstrap it once (cached), refresh its
#                                  package lists when older than a day
#   chroot.sh run SUITE [--bind DIR]... [--root ROOT] CMD...
#                                  run CMD in it (own mount namespace with
#                                  /proc, /dev and each DIR at its own path;
#                                  nothing stays mounted); in the working
#                                  directory when that is a DIR; --root:
#                                  in ROOT (from `fresh`) instead
#   chroot.sh apt SUITE ARGS...    apt-get -y ARGS... in it
#   chroot.sh fresh SUITE DIR      a new, minimal chroot of SUITE's release
#                                  at DIR: debootstrap's result (kept as a
#                                  tarball when the cached one was made),
#                                  the release's sources, no initramfs
#
# SUITE is a Debian suite: bookworm, trixie, sid, ... A "-backports" suite
# lives in the chroot of its release, whose sources list the backports too.
# SUITE:ARCH is that release's chroot of another Debian architecture
# (arm64, ppc64el, riscv64, s390x): its programs run under qemu-user
# (binfmt_misc, registered here from qemu-user-static's entries), its
# package lists are that architecture's. Chroots live under
# ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/chroot/, as RELEASE or
# RELEASE-ARCH.
set -euo pipefail

readonly PROG=${0##*/}
readonly CACHE=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
readonly MAX_AGE_HOURS=${BPF_PRELOAD_APT_MAX_AGE:-24}
readonly MIRROR=${BPF_PRELOAD_MIRROR:-http://deb.debian.org/debian}
readonly SECURITY_MIRROR=${BPF_PRELOAD_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# What every build needs (the module's and the static test programs'), and
# the guest's user space (busybox, bpftool); the kernel's headers and its
# g++-N come per kernel.
readonly BASE_PACKAGES=make,g++,dkms,libbpf-dev,dwarves,kmod,xz-utils,zstd,libelf-dev,zlib1g-dev,libzstd-dev,ca-certificates,busybox-static,bpftool

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

NATIVE=$(dpkg --print-architecture)
readonly NATIVE
release_of() { local s=${1%%:*}; printf '%s\n' "${s%-backports}"; }
arch_of() { if [[ $1 == *:* ]]; then printf '%s\n' "${1#*:}"; else printf '%s\n' "$NATIVE"; fi; }
# The chroot's name: RELEASE, or RELEASE-ARCH for a foreign architecture.
name_of() {
	local arch
	arch=$(arch_of "$1")
	if [[ $arch == "$NATIVE" ]]; then release_of "$1"; else printf '%s-%s\n' "$(release_of "$1")" "$arch"; fi
}
root_of() { printf '%s/chroot/%s\n' "$CACHE" "$(name_of "$1")"; }

# qemu-user runs a foreign chroot's programs: binfmt_misc entries with the
# F flag (the interpreter opened now, so it works inside the chroot), from
# the entries qemu-user-static ships for systemd-binfmt.
binfmt() { # binfmt ARCH
	local q conf
	case $1 in
	arm64) q=aarch64 ;; ppc64el) q=ppc64le ;; riscv64 | s390x) q=$1 ;;
	*) die "no qemu-user for architecture '$1'" ;;
	esac
	[[ -e /proc/sys/fs/binfmt_misc/qemu-$q ]] && return 0
	conf=/usr/lib/binfmt.d/qemu-$q.conf
	[[ -f $conf ]] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		install -y -qq --no-install-recommends qemu-user-static >&2 || die "cannot install qemu-user-static"
	[[ -f $conf ]] || die "qemu-user-static has no $conf"
	[[ -e /proc/sys/fs/binfmt_misc/register ]] ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc"
	log "registering qemu-$q with binfmt_misc"
	cat "$conf" >/proc/sys/fs/binfmt_misc/register || die "cannot register $conf with binfmt_misc"
}

# The release's apt sources: the suites a user of it has by default, and
# its backports. sid has neither security nor backports.
write_sources() {
	local release=$1 root=$2 kr=/usr/share/keyrings/debian-archive-keyring.gpg
	{
		if [[ $release == sid || $release == unstable ]]; then
			printf 'Types: deb\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: %s\n' "$MIRROR" "$kr"
		else
			printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates %s-backports\nComponents: main\nSigned-By: %s\n\n' \
				"$MIRROR" "$release" "$release" "$release" "$kr"
			printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
				"$SECURITY_MIRROR" "$release" "$kr"
		fi
	} >"$root/etc/apt/sources.list.d/debian.sources"
	: >"$root/etc/apt/sources.list"
	# sid's Release file may be past its Valid-Until between uploads.
	printf '%s\n' 'Acquire::Check-Valid-Until "false";' 'Acquire::Retries "3";' \
		'Acquire::Languages "none";' 'Dpkg::Options { "--force-confdef"; "--force-confold"; };' \
		>"$root/etc/apt/apt.conf.d/90bpf-preload"
}

# Nothing boots from the chroot, and the kernel images that headers packages
# depend on would each cost a minute of initramfs building: a stub it is.
no_initramfs() {
	local root=$1
	[[ -f $root/.bpf-preload-no-initramfs ]] && return 0
	in_ns "$root" dpkg-divert --quiet --local --rename \
		--divert /usr/sbin/update-initramfs.bpf-preload --add /usr/sbin/update-initramfs
	printf '#!/bin/sh\n# bpf-preload build chroot: no initramfs images\nexit 0\n' \
		>"$root/usr/sbin/update-initramfs"
	chmod 755 "$root/usr/sbin/update-initramfs"
	touch "$root/.bpf-preload-no-initramfs"
}

# in_ns ROOT CMD...: CMD in ROOT with /proc and /dev, and each directory of
# $BINDS at its own path (the working directory too, if it is one of them).
# The mounts are private to CMD: they go away with it.
BINDS=()
in_ns() {
	local root=$1 d
	shift
	for d in "${BINDS[@]}"; do mkdir -p "$root$d"; done
	# shellcheck disable=SC2016 # the inner shells expand these
	unshare --mount --propagation private /bin/sh -euc '
		root=$1 binds=$2 cwd=$3; shift 3
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		for d in $binds; do mount --bind "$d" "$root$d"; done
		case " $binds " in *" $cwd "*) ;; *) cwd=/ ;; esac
		exec chroot "$root" /bin/sh -c '"'"'cd "$0" && exec "$@"'"'"' "$cwd" \
			/usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
		in_ns "$root" "${BINDS[*]}" "$PWD" "$@"
}

apt_in() { # apt_in ROOT ARGS...
	local root=$1
	shift
	in_ns "$root" apt-get -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600 \
		--no-install-recommends "$@"
}

lists_stale() {
	local newest now
	newest=$(find "$1/var/lib/apt/lists" -maxdepth 1 -type f -name '*_Packages*' \
		-printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
	[[ -n $newest ]] || return 0
	now=${EPOCHSECONDS:-$(date +%s)}
	((now - ${newest%.*} > MAX_AGE_HOURS * 3600))
}

# apt-get update; a mirror mid-sync fails some lists for a while: two more
# tries, then go on with the lists there are (apt says what it could not get).
apt_update() { # apt_update ROOT RELEASE
	local try
	for try in first second third; do
		apt_in "$1" update >&2 && return 0
		log "$2: apt-get update failed (the $try time)"
		sleep 5
	done
	find "$1/var/lib/apt/lists" -maxdepth 1 -name '*_Packages' | grep -q . ||
		die "$2: apt-get update failed and there are no package lists"
	log "$2: apt-get update failed in part; using the lists there are"
}

# A chroot made before BASE_PACKAGES grew gets the rest.
base_packages() {
	local root=$1 missing
	# shellcheck disable=SC2016 # dpkg-query's own ${...}
	missing=$(in_ns "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		${BASE_PACKAGES//,/ } 2>&1 | awk '$1 != "ii" { print $NF }') || true
	[[ -z $missing ]] && return 0
	# shellcheck disable=SC2086 # a list of packages
	apt_in "$root" install $missing >&2 || die "$root: cannot install $missing"
}

create() { # create SUITE ROOT
	local release name arch root=$2 tmp
	release=$(release_of "$1") name=$(name_of "$1") arch=$(arch_of "$1")
	command -v debootstrap >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends debootstrap >&2 || die "cannot install debootstrap"
	tmp=$root.tmp
	rm -rf --one-file-system "$tmp"
	mkdir -p "$CACHE/chroot/debs"
	log "debootstrap $release ($arch) into $root (once; cached)"
	debootstrap --arch="$arch" --variant=minbase --cache-dir="$CACHE/chroot/debs" \
		"$release" "$tmp" "$MIRROR" >"$CACHE/chroot/$name.debootstrap.log" 2>&1 ||
		die "debootstrap $release ($arch) failed; see $CACHE/chroot/$name.debootstrap.log"
	# The pristine system, for `fresh`.
	tar -c -C "$tmp" -f "$CACHE/chroot/$name.base.tar" . ||
		die "cannot keep the debootstrap of $name"
	write_sources "$release" "$tmp"
	no_initramfs "$tmp"
	apt_update "$tmp" "$release"
	# shellcheck disable=SC2086 # a comma-separated list
	apt_in "$tmp" install ${BASE_PACKAGES//,/ } >&2 ||
		die "$release: installing the build packages failed"
	date -u +%FT%TZ >"$tmp/.bpf-preload-complete"
	rm -rf --one-file-system "$root"
	mv "$tmp" "$root"
}

ensure() {
	local release root arch
	release=$(release_of "$1") arch=$(arch_of "$1")
	root=$(root_of "$1")
	[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
	[[ $arch == "$NATIVE" ]] || binfmt "$arch"
	mkdir -p "$CACHE/chroot"
	exec {lockfd}>"$CACHE/chroot/.lock-$(name_of "$1")"
	flock "$lockfd"
	[[ -f $root/.bpf-preload-complete ]] || create "$1" "$root"
	write_sources "$release" "$root"
	no_initramfs "$root"
	base_packages "$root"
	if lists_stale "$root"; then
		log "$release: apt-get update"
		apt_update "$root" "$release"
	fi
	flock -u "$lockfd"
	exec {lockfd}>&-
}

# A new chroot of SUITE's release at DIR, as debootstrap left it (from the
# kept tarball), with the release's sources and no initramfs building.
fresh() {
	local release name root=$2
	release=$(release_of "$1") name=$(name_of "$1")
	ensure "$1"
	[[ -f $CACHE/chroot/$name.base.tar ]] ||
		die "no $CACHE/chroot/$name.base.tar: remove $(root_of "$1") to make it anew"
	rm -rf --one-file-system "$root"
	mkdir -p "$root"
	tar -x -C "$root" -f "$CACHE/chroot/$name.base.tar" || die "cannot unpack the $name base"
	write_sources "$release" "$root"
	no_initramfs "$root"
}

(($# >= 2)) || die "usage: $PROG path|ensure|run|apt|fresh SUITE[:ARCH] [ARGS...]"
cmd=$1 suite=$2
shift 2
[[ $suite =~ ^[a-z]+(-backports)?(:[a-z0-9]+)?$ ]] || die "bad suite '$suite'"
case $cmd in
path) root_of "$suite" ;;
fresh) fresh "$suite" "${1:?fresh needs a directory}" ;;
ensure) ensure "$suite" ;;
run)
	root=""
	while [[ ${1:-} == --bind || ${1:-} == --root ]]; do
		if [[ $1 == --root ]]; then root=${2:?--root needs a directory}
		else BINDS+=("$(cd "${2:?--bind needs a directory}" && pwd -P)")
		fi
		shift 2
	done
	if [[ -z $root ]]; then
		ensure "$suite"
		root=$(root_of "$suite")
	fi
	in_ns "$root" "$@"
	;;
apt) ensure "$suite"; apt_in "$(root_of "$suite")" "$@" ;;
*) die "unknown command '$cmd'" ;;
esac
