# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034,SC2178 # variables for the sourcing script
#
# What scripts/kernel/, scripts/vm/ and scripts/pkg/ share, sourced: messages
# (die exits with $DIE_STATUS, default 1), usage (from $USAGE), options, host
# packages, a kernel's source, a lock, and the table of Debian architectures.
readonly CACHE=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
NATIVE=$(dpkg --print-architecture)
readonly NATIVE ARCHES="amd64 arm64 ppc64el riscv64 s390x"
readonly APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -qq)

die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit "${DIE_STATUS:-1}"; }
log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
usage() { # usage [MESSAGE]: exits 2
	[[ -z ${1:-} ]] || log "$1"
	printf 'usage: %s %s\n' "${0##*/}" "$USAGE" >&2
	exit 2
}

# Each "--NAME VALUE" of ARGS sets the variable NAME, or adds to the array.
parse_options() { # parse_options NAME... -- ARGS...
	local names=" "
	while [[ $1 != -- ]]; do names+="$1 "; shift; done
	shift
	while (($#)); do
		[[ $1 == --* && $names == *" ${1#--} "* ]] || usage "unknown argument: $1"
		(($# >= 2)) || usage "$1 needs a value"
		local -n option_var=${1#--}
		if [[ $(declare -p "${1#--}") == "declare -a"* ]]; then option_var+=("$2"); else option_var=$2; fi
		unset -n option_var
		shift 2
	done
}

missing_packages() { # missing_packages [--root=DIR] PKG...: those not installed
	# dpkg-query fails for a package it has never seen: that one is missing too.
	# shellcheck disable=SC2016 # dpkg-query's own ${...}
	{ dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>&1 || true; } |
		awk '$1 != "ii" { print $NF }'
}

need() { # need PKG...: apt-get install those missing on this machine
	local missing
	missing=$(missing_packages "$@" | paste -sd' ')
	[[ -z $missing ]] && return 0
	[[ $(id -u) -eq 0 ]] || die "$missing missing: apt-get install $missing"
	log "installing $missing"
	"${APT[@]}" update >&2 || true
	# shellcheck disable=SC2086 # a list of packages
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" -y --no-install-recommends install $missing >&2 ||
		die "cannot install $missing"
}

# linux_source PKG VERSION DIR [PATH...]: Debian's PKG=VERSION (a
# linux-source-X.Y) downloaded, the tree of its /usr/src/PKG.tar.xz (or
# those PATHs of it) into DIR, replacing it; DIR/.complete names the package.
linux_source() {
	local pkg=$1 version=$2 dir=$3 paths=("${@:4}") tmp
	tmp=$(mktemp -d "$dir.tmp.XXXXXX")
	if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	log "downloading $pkg=$version"
	(cd "$tmp" && { "${APT[@]}" download "$pkg=$version" ||
		{ "${APT[@]}" update && "${APT[@]}" download "$pkg=$version"; }; } >&2) ||
		die "apt-get download $pkg=$version failed"
	mkdir "$tmp/src"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -xO "./usr/src/$pkg.tar.xz" |
		tar -xJ -C "$tmp/src" --strip-components=1 "${paths[@]/#/$pkg/}" ||
		die "cannot unpack $pkg.tar.xz from $pkg=$version"
	echo "$pkg=$version" >"$tmp/src/.complete"
	replace "$tmp/src" "$dir"
	rm -rf "$tmp"
}

replace() { rm -rf --one-file-system "$2" && mv "$1" "$2"; } # replace NEW DIR: NEW is DIR now

# ko_cat KO: the module, decompressed (DKMS compresses it the way the kernel's
# own modules are: 6.12's with xz); zstd reads xz and gzip too, -f the rest.
ko_cat() { [[ -f $1 ]] && zstd -qdcf -- "$1"; }

lock() { # lock FILE: flock it (one at a time), until unlock or exit
	exec {LOCK_FD}>"$1"
	flock -n "$LOCK_FD" && return 0
	log "waiting for $1"
	flock "$LOCK_FD"
}
unlock() { exec {LOCK_FD}>&-; }

# What the scripts need to know of a Debian architecture: KARCH (kbuild's),
# TRIPLET (its compilers'), FLAVOUR (its kernels' ABI suffix), QEMU_USER
# (qemu-user-static's name), and how its kernels boot: QEMU, QEMU_PKG (its
# package), CPU, MACHINE (QEMU's arguments), CONSOLE (the kernel's).
arch_facts() { # arch_facts ARCH
	local ppc_caps=cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off
	CPU=max MACHINE=()
	case $1 in
	amd64)
		KARCH=x86 TRIPLET=x86_64-linux-gnu FLAVOUR=amd64 QEMU_USER=x86_64
		QEMU=qemu-system-x86_64 QEMU_PKG=qemu-system-x86 CONSOLE="ttyS0,115200 edd=off" ;;
	arm64)
		KARCH=arm64 TRIPLET=aarch64-linux-gnu FLAVOUR=arm64 QEMU_USER=aarch64
		QEMU=qemu-system-aarch64 QEMU_PKG=qemu-system-arm CONSOLE=ttyAMA0
		# Pointer authentication by QEMU's own cheap algorithm: boots twice as fast.
		CPU=max,pauth-impdef=on MACHINE=(-machine virt) ;;
	ppc64el)
		KARCH=powerpc TRIPLET=powerpc64le-linux-gnu FLAVOUR=powerpc64le QEMU_USER=ppc64le
		QEMU=qemu-system-ppc64 QEMU_PKG=qemu-system-ppc CONSOLE=hvc0 CPU=power10
		# QEMU's own small firmware (x-vof); the Spectre capabilities TCG
		# cannot give, off.
		MACHINE=(-machine "pseries,x-vof=on,$ppc_caps" -vga none) ;;
	riscv64)
		KARCH=riscv TRIPLET=riscv64-linux-gnu FLAVOUR=riscv64 QEMU_USER=riscv64
		QEMU=qemu-system-riscv64 QEMU_PKG=qemu-system-misc CONSOLE=ttyS0 CPU=rv64
		MACHINE=(-machine virt) ;;
	s390x)
		KARCH=s390 TRIPLET=s390x-linux-gnu FLAVOUR=s390x QEMU_USER=s390x
		QEMU=qemu-system-s390x QEMU_PKG=qemu-system-misc CONSOLE=ttysclp0
		MACHINE=(-machine s390-ccw-virtio) ;;
	*) die "unsupported architecture '$1' (${ARCHES// /, })" ;;
	esac
}

