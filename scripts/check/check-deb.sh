#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-deb.sh   (make check-deb) the Debian package, end to end, in a fresh
#                chroot of every release in $SUITES (README.md, "What each
#                kernel gets"): make deb once, then per release release_flow.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
[ "$(id -u)" -eq 0 ] || { echo "check-deb.sh: run as root" >&2; exit 1; }

cache=$CACHE/deb-archives
work=$TOP/build/deb-chroot
version=$(scripts/pkg/dkms-source.sh --version)
results_begin deb

in_chroot() { scripts/kernel/chroot.sh run "$release" --root "$chr" "$@"; }
apt_in_chroot() { # apt-get in the chroot; what it downloaded is kept for the next run
	local rc=0
	in_chroot apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root \
		--no-install-recommends "$@" || rc=$?
	cp -l -n "$chr/var/cache/apt/archives/"*.deb "$cache/$release/" 2>/dev/null || true
	return "$rc"
}
modules_of() { # modules_of KVER...: our module files under the chroot's modules dirs
	find "${@/#/$chr/usr/lib/modules/}" "${@/#/$chr/lib/modules/}" -name 'bpf_preload.ko*' \
		2>/dev/null | sed "s|^$chr/||; s|^usr/||" | sort -u
}

dkms_ok() { # dkms_ok KVER: DKMS built (the link, no warning), installed and indexed it
	local k=$1 rc=0 status mlog ko
	status=$(in_chroot dkms status -m bpf-preload -v "$version" -k "$k" 2>/dev/null)
	echo "  | dkms status: $status"
	[[ $status == *": installed"* ]] || { echo "  | not installed for $k"; rc=1; }
	mlog=$chr/var/lib/dkms/bpf-preload/$version/$k/x86_64/log/make.log
	grep -Eq 'LD \[M\] +(.*/)?bpf_preload\.ko$' "$mlog" || { echo "  | $mlog: no link step"; rc=1; }
	if grep -i warning "$mlog"; then rc=1; fi
	ko=$(modules_of "$k" | head -n 1)
	echo "  | module: ${ko:-none}"
	[[ $ko == lib/modules/$k/updates/dkms/bpf_preload.ko* ]] || rc=1
	grep -q '^updates/dkms/bpf_preload\.ko[.a-z]*:' "$chr/lib/modules/$k/modules.dep" ||
		{ echo "  | not in lib/modules/$k/modules.dep"; rc=1; }
	return "$rc"
}

boot() { # boot SUITE KVER (after kernel_use): with the module DKMS installed
	local k=$2 dir=$work/$release/vm-$2 ko
	ko=$(modules_of "$k" | head -n 1)
	[ -n "$ko" ] || { result fail "$k: boot: no module installed in the chroot"; return 0; }
	rm -rf "$dir" && mkdir -p "$dir/root/${ko%/*}"
	cp "$chr/$ko" "$dir/root/$ko"
	kernel_metadata "$dir/root/lib/modules/$k"
	vm_suite "$release $k: boot with the module DKMS installed" "$dir" \
		"/tests/boot-check.sh autoload" -- --timeout 300
}

release_flow() { # release_flow FIRST [UPDATE]: one release and its kernels ("SUITE ABI")
	local s1 k1 s2="" k2="" log=$work/$release from=() kernels deps
	read -r s1 k1 <<<"$1"
	[ -z "${2:-}" ] || read -r s2 k2 <<<"$2"
	kernels=("$k1" ${k2:+"$k2"})
	chr=$work/$release/root
	echo "deb: $release: kernels $k1 (installed first)${k2:+ and $k2 (the update)}"

	must "$release: fresh chroot" "$log/fresh.log" scripts/kernel/chroot.sh fresh "$release" "$chr" ||
		return 0
	# A throwaway chroot: dpkg need not fsync every file it unpacks.
	echo force-unsafe-io >"$chr/etc/dpkg/dpkg.cfg.d/90bpf-preload-test"
	mkdir -p "$cache/$release"
	cp -l -n "$cache/$release/"*.deb "$chr/var/cache/apt/archives/" 2>/dev/null || true
	must "$release: apt-get update" "$log/apt-update.log" apt_in_chroot update || return 0

	# DKMS indexes the module only for a kernel whose modules are there.
	must "$release: install linux-image-$k1 and its headers" "$log/apt-headers-1.log" \
		apt_in_chroot install "linux-image-$k1" "linux-headers-$k1" || return 0
	cp "$deb" "$chr/tmp/"
	must "$release: apt-get install ./${deb##*/}" "$log/apt-install-deb.log" \
		apt_in_chroot install "/tmp/${deb##*/}" || return 0
	sed -n '/^Setting up bpf-preload-dkms/,$p' "$log/apt-install-deb.log" | sed 's/^/  | /'
	check "$release: ... DKMS built and installed it for $k1, zero warnings, indexed" dkms_ok "$k1"

	if [ -n "$k2" ]; then
		# From backports the way its users do it: apt-get -t <suite>.
		[[ $s2 != *-backports ]] || from=(-t "$s2")
		must "$release: new kernel: install linux-image-$k2 and its headers${from[*]:+ (${from[*]})}" \
			"$log/apt-headers-2.log" \
			apt_in_chroot install "${from[@]}" "linux-image-$k2" "linux-headers-$k2" || return 0
		grep -iE 'dkms|bpf-preload' "$log/apt-headers-2.log" | head -n 20 | sed 's/^/  | /'
		check "$release: ... DKMS autoinstalled it for $k2, zero warnings, indexed" dkms_ok "$k2"
	else
		result skip "$release: a new kernel arrives: no second kernel of $release in SUITES='$SUITES'"
	fi

	per_kernel "$s1" "$k1" with_kernel "$s1" "$k1" boot
	[ -z "$k2" ] || per_kernel "$s2" "$k2" with_kernel "$s2" "$k2" boot

	check "$release: ... (before purging: the module installed for each kernel)" \
		test "$(modules_of "${kernels[@]}" | wc -l)" -eq "${#kernels[@]}"
	must "$release: apt-get purge bpf-preload-dkms" "$log/apt-purge.log" \
		apt_in_chroot purge bpf-preload-dkms || return 0
	check "$release: ... no bpf_preload.ko left under /lib/modules" \
		test -z "$(modules_of "${kernels[@]}")"
	deps=("${kernels[@]/#/$chr/lib/modules/}")
	deps=("${deps[@]/%//modules.dep}")
	check "$release: ... modules.dep of every kernel updated" unlisted "${deps[@]}"
	check "$release: ... /usr/src/bpf-preload-$version and DKMS's record removed" \
		absent "$chr/usr/src/bpf-preload-$version" "$chr/var/lib/dkms/bpf-preload"

	# DKMS from a checkout, without the package (dkms stays after the purge).
	checkout_copy "$chr/root/src"
	must "$release: checkout: make dkms-add" "$log/dkms-add.log" \
		in_chroot make -C /root/src dkms-add || return 0
	must "$release: ... dkms install bpf-preload/$version -k $k1" "$log/dkms-install.log" \
		in_chroot dkms install "bpf-preload/$version" -k "$k1" || return 0
	check "$release: ... DKMS built and installed it for $k1, zero warnings, indexed" dkms_ok "$k1"
	must "$release: ... make dkms-remove" "$log/dkms-remove.log" \
		in_chroot make -C /root/src dkms-remove || return 0
	check "$release: ... module, /usr/src/bpf-preload-$version and DKMS's record gone" \
		eval "[ -z \"\$(modules_of '$k1')\" ] &&
			absent '$chr/usr/src/bpf-preload-$version' '$chr/var/lib/dkms/bpf-preload'"
	rm -rf --one-file-system "$chr"
}

# Every file of the source list (dh_dkms writes a dkms.conf of its own).
ships_sources() {
	local f
	dpkg-deb -c "$deb" >"$work/deb-contents.txt"
	for f in $(scripts/pkg/dkms-source.sh --list); do
		grep -q " \./usr/src/bpf-preload-$version/$f\$" "$work/deb-contents.txt" ||
			{ echo "  | not in the package: /usr/src/bpf-preload-$version/$f"; return 1; }
	done
}

rm -rf --one-file-system "$work"
mkdir -p "$work"
test_programs || results_end
must "make deb: bpf-preload-dkms_${version}_all.deb" "$work/deb-build.log" \
	scripts/pkg/deb-build.sh "$work" || results_end
deb=$work/bpf-preload-dkms_${version}_all.deb
check "... Depends on dkms (dh_dkms)" eval "dpkg-deb -f '$deb' Depends | grep -q 'dkms'"
check "... ships the module's sources in /usr/src/bpf-preload-$version/" ships_sources

# Per release, in the order of SUITES: its first kernel, and the last
# other one (a -backports suite's last) as the update.
mapfile -t flows < <(kernel_matrix | awk '
	NF { r = $1; sub(/-backports$/, "", r); if (!(r in k)) order[++n] = r
	     if ($1 == r) k[r] = k[r] SUBSEP $0; else bp[r] = bp[r] SUBSEP $0 }
	END { for (i = 1; i <= n; i++) { r = order[i]; c = split(substr(k[r] bp[r], 2), all, SUBSEP)
		print r "\t" all[1] "\t" (c > 1 ? all[c] : "") } }') || true
((${#flows[@]})) || result fail "kernel matrix of SUITES='$SUITES'"
for flow in "${flows[@]}"; do
	IFS=$'\t' read -r release first update <<<"$flow"
	mkdir -p "$work/$release"
	release_flow "$first" "$update"
done
results_end
