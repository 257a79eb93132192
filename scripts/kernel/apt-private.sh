#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A private apt configuration for fetching foreign-architecture Debian
# packages (s390x kernels, busybox, static libraries) without touching the
# host's apt sources or dpkg architectures.
#
#   apt-private.sh [--update] cache ARGS...      apt-cache with it
#   apt-private.sh [--update] download DIR PKG...
#       apt-get download PKG... (name[:arch][=version]) into DIR
#   apt-private.sh [--update] unpack DIR PKG...
#       download PKG... and unpack each with dpkg -x into DIR (nothing is
#       installed); DIR/.debs lists the unpacked packages and versions
#
# Sources: $BPF_PRELOAD_APT_RELEASE (default bookworm, whatever the host
# runs: the s390x kernels check-s390x covers are bookworm's) with its
# -updates, -security and
# -backports suites, main only, from the mirrors the host uses for it (apt-get
# indextargets; deb.debian.org if none). bookworm has no 6.12 kernel for
# s390x, bookworm-backports has one. Architectures:
# amd64 (host-side kbuild tools of an exact kernel version) and
# $BPF_PRELOAD_APT_ARCHES (default s390x).
#
# State lives in ${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/apt-private/;
# the lists are refreshed when missing, older than BPF_PRELOAD_APT_MAX_AGE
# hours (default 24) or with --update. Needs root the first time.
set -euo pipefail

readonly PROG=${0##*/}
readonly CACHE=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
readonly DIR=$CACHE/apt-private
readonly MAX_AGE_HOURS=${BPF_PRELOAD_APT_MAX_AGE:-24}
readonly RELEASE=${BPF_PRELOAD_APT_RELEASE:-bookworm}
read -r -a ARCHES <<<"${BPF_PRELOAD_APT_ARCHES:-s390x}"

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat >&2 <<EOF
usage: $PROG [--update] cache ARGS...
       $PROG [--update] download DIR PKG...
       $PROG [--update] unpack DIR PKG...
EOF
	exit 2
}

apt_opts=(
	-o "Dir::Etc::SourceList=$DIR/sources.list"
	-o "Dir::Etc::SourceParts=$DIR/sources.list.d"
	-o "Dir::State::Lists=$DIR/lists"
	-o "Dir::State::Status=$DIR/status"
	-o "Dir::Cache=$DIR/cache"
	-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
	-o "APT::Architecture=amd64"
	-o "APT::Architectures::=amd64"
	-o "Acquire::Retries=3"
	-o "Acquire::Languages=none"
	# apt-get download writes as _apt unless told otherwise.
	-o "APT::Sandbox::User=root"
)
for a in "${ARCHES[@]}"; do apt_opts+=(-o "APT::Architectures::=$a"); done

# The repository URI the host uses for suite $1, or $2.
host_uri() {
	local uri
	# shellcheck disable=SC2016 # apt expands $(RELEASE), not the shell
	uri=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' \
		'Created-By: Packages' 2>/dev/null | awk -v s="$1" '$1 == s { print $2; exit }')
	printf '%s\n' "${uri:-$2}"
}

write_sources() {
	local codename=$RELEASE main security keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	main=$(host_uri "$codename" http://deb.debian.org/debian/)
	security=$(host_uri "$codename-security" http://deb.debian.org/debian-security/)
	local signed=""
	[[ -f $keyring ]] && signed="Signed-By: $keyring"
	mkdir -p "$DIR/sources.list.d" "$DIR/lists/partial" "$DIR/cache/archives/partial"
	: >"$DIR/status"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates %s-backports\nComponents: main\n%s\n\n' \
			"$main" "$codename" "$codename" "$codename" "$signed"
		printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n%s\n' \
			"$security" "$codename" "$signed"
	} >"$DIR/sources.list.d/debian.sources.tmp"
	mv "$DIR/sources.list.d/debian.sources.tmp" "$DIR/sources.list.d/debian.sources"
	: >"$DIR/sources.list"
}

stale() {
	local newest now
	newest=$(find "$DIR/lists" -maxdepth 1 -type f -name '*_Packages*' \
		-printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
	[[ -z $newest ]] && return 0
	now=${EPOCHSECONDS:-$(date +%s)}
	((now - ${newest%.*} > MAX_AGE_HOURS * 3600))
}

update() {
	[[ $(id -u) -eq 0 ]] || die "refreshing $DIR needs root"
	write_sources
	log "apt-get update (private lists: ${ARCHES[*]} + amd64)"
	# A suite that lacks an architecture (or a mirror mid-sync) must not
	# stop us while the lists we need are there; the look-ups say so if not.
	if ! apt-get "${apt_opts[@]}" -qq update >&2; then
		log "warning: apt-get update reported errors; using the lists it got"
	fi
	[[ -n $(find "$DIR/lists" -maxdepth 1 -name '*_Packages*' -print -quit) ]] ||
		die "no package lists after apt-get update"
}

ensure_lists() {
	mkdir -p "$CACHE"
	exec {lockfd}>"$CACHE/apt-private.lock"
	flock "$lockfd"
	if [[ $1 == 1 ]] || stale; then update; fi
	flock -u "$lockfd"
	exec {lockfd}>&-
}

cmd_download() {
	local dest=${1:?download needs a directory}
	shift
	(($#)) || usage
	mkdir -p "$dest"
	(cd "$dest" && apt-get "${apt_opts[@]}" -qq download "$@" >&2) ||
		die "apt-get download $* failed"
}

cmd_unpack() {
	local dest=${1:?unpack needs a directory} tmp deb
	shift
	(($#)) || usage
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/apt-private.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" EXIT
	cmd_download "$tmp" "$@"
	mkdir -p "$dest"
	for deb in "$tmp"/*.deb; do
		[[ -e $deb ]] || die "nothing downloaded for $*"
		dpkg-deb -x "$deb" "$dest" || die "dpkg-deb -x $deb failed"
		# shellcheck disable=SC2016 # dpkg-deb expands ${Package}
		dpkg-deb --show --showformat='${Package}:${Architecture} ${Version}\n' \
			"$deb" >>"$dest/.debs"
	done
	rm -rf "$tmp"
	trap - EXIT
}

force=0
if [[ ${1:-} == --update ]]; then force=1; shift; fi
(($#)) || usage
cmd=$1
shift
ensure_lists "$force"
case $cmd in
cache) apt-cache "${apt_opts[@]}" "$@" ;;
download) cmd_download "$@" ;;
unpack) cmd_unpack "$@" ;;
*) usage ;;
esac
