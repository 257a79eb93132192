#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-secureboot.sh (make check-secureboot) the module on a UEFI Secure Boot
# machine as a Debian user has it (README.md, "Secure Boot and lockdown"), per
# kernel of $SUITES: Debian's signed shim, grub and kernel under OVMF; the module
# signed by DKMS (its own key) and DKMS's certificate put in MokList offline, as
# `mokutil --import` does. Three boots: with the MOK, without it (the negative
# control) and lockdown=confidentiality. Logs in build/secureboot/<abi>/.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"

readonly SB_CACHE=$CACHE/secureboot OVMF=/usr/share/OVMF
readonly VARS_ROOT=$SB_CACHE/vars-trixie
# DKMS's /var/lib/dkms for this run: one key for every kernel.
readonly DKMS_VAR=$TOP/build/secureboot/var-lib-dkms
# mokutil's owner of MOK entries: shim's GUID.
readonly SHIM_GUID=605dab50-e046-4300-abb6-3dd810dd8b23
# The guest's commands: the boot log kept before a suite clears it; under
# confidentiality only what secureboot.sh measures there.
readonly GUEST=('mkdir -p /tmp && dmesg >/tmp/boot.dmesg'
	'! grep -q lockdown=confidentiality /proc/cmdline ||
		exec /tests/secureboot.sh confidentiality'
	'/tests/boot-check.sh autoload' '/tests/secureboot.sh integrity')
: "${SB_TIMEOUT:=600}"

# virt-fw-vars (python3-virt-firmware: not in bookworm) in a trixie chroot.
virt_fw_vars() {
	if [ ! -f "$VARS_ROOT/.complete" ]; then
		"$CHROOT" fresh trixie "$VARS_ROOT" && "$CHROOT" run trixie --root "$VARS_ROOT" sh -c \
			'apt-get -qq update && apt-get install -y -qq --no-install-recommends python3-virt-firmware' \
			>/dev/null && touch "$VARS_ROOT/.complete" || return 1
	fi
	"$CHROOT" run trixie --root "$VARS_ROOT" --bind "$TOP" virt-fw-vars "$@"
}

deb_extract() { # deb_extract DIR PKG PATTERN...: those members of K_SUITE's PKG
	local tmp rc=0
	mkdir -p "$1" && tmp=$(mktemp -d "$SB_CACHE/deb.XXXXXX")
	# shellcheck disable=SC2016 # the inner shell expands them
	"$CHROOT" run "$K_SUITE" --bind "$tmp" sh -c \
		'cd "$1" && apt-get -qq -o APT::Sandbox::User=root download "$2"' sh "$tmp" "$2" &&
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$1" --wildcards "${@:3}" || rc=$?
	rm -rf "$tmp"
	return $rc
}

pe_signed() { # pe_signed IMAGE: the PE image has a certificate table (Authenticode)
	local pe size
	pe=$(od -An -tu4 -j60 -N4 "$1" | tr -d ' ')
	size=$(od -An -tu4 -j$((pe + 24 + 112 + 36)) -N4 "$1" | tr -d ' ')
	[ "${size:-0}" -gt 0 ]
}

# The signed kernel and efivarfs module as K_VMLINUZ, K_MODDIR: kernel_use's
# from 7.0; before, linux-image-<abi>'s, cached here.
signed_kernel() {
	local d=$SB_CACHE/kernels/$K_ABI m
	pe_signed "$K_VMLINUZ" && return 0
	K_VMLINUZ=$d/vmlinuz K_MODDIR=$d/lib/modules/$K_ABI
	[ -f "$d/.complete" ] && return 0
	rm -rf "$d" "$d.tmp"
	deb_extract "$d.tmp" "linux-image-$K_ABI" "./boot/vmlinuz-$K_ABI" '*/modules.order' \
		'*/modules.builtin*' '*/fs/efivarfs/*' || return 1
	m=$(find "$d.tmp" -type d -path "*/modules/$K_ABI" -print -quit)
	mkdir -p "$d/lib/modules" && mv "$m" "$d/lib/modules/" && mv "$d.tmp/boot/vmlinuz-$K_ABI" "$d/vmlinuz" &&
		depmod -b "$d" "$K_ABI" && pe_signed "$d/vmlinuz" && rm -rf "$d.tmp" && touch "$d/.complete"
}

# DKMS builds and signs the module: $W/bpf_preload.ko. DKMS's default trees,
# as on a user's machine (trixie's finds sign-file in /lib/modules/KVER/build),
# but /var/lib/dkms is DKMS_VAR, where it makes its key on first use.
sb_dkms() {
	local ver ko
	ver=$(scripts/pkg/dkms-source.sh --version)
	scripts/pkg/dkms-source.sh "$W/src/bpf-preload-$ver"
	mkdir -p "$DKMS_VAR"
	# shellcheck disable=SC2016 # the inner shell expands them
	in_build_env --bind "$DKMS_VAR:/var/lib/dkms" sh -ec '
		[ -d "/var/lib/dkms/bpf-preload/$1" ] || dkms add -m bpf-preload -v "$1" --sourcetree "$2"
		dkms build -m bpf-preload -v "$1" -k "$3" --sourcetree "$2"' sh "$ver" "$TOP/$W/src" \
		"$K_ABI" >"$W/dkms.log" 2>&1 || { tail -n 20 "$W/dkms.log"; return 1; }
	grep -E '^(Sign|Signing|Public)' "$W/dkms.log" | sed "s/^/$R_NAME: $K_ABI: dkms: /"
	ko=$(find "$DKMS_VAR/bpf-preload/$ver/$K_ABI" -path '*/module/bpf_preload.ko*' -print -quit)
	ko_cat "$ko" >"$W/bpf_preload.ko" || { echo "no module from dkms build (log $W/dkms.log)"; return 1; }
}

modinfo_is() { [ "$(/sbin/modinfo -F "$2" "$1")" = "$3" ]; } # modinfo_is KO FIELD VALUE

sign() { # sign KEY CERT IN OUT: the kernel's sign-file, with its hash
	local hash
	hash=$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"$/\1/p' "$K_KDIR_HOST/.config")
	in_build_env "$K_KDIR/scripts/sign-file" "$hash" "$@"
}

loaders() { # the suite's signed shim and grub: $W/shimx64.efi, $W/grubx64.efi
	deb_extract "$W/deb" shim-signed '*/shimx64.efi.signed' &&
		deb_extract "$W/deb" grub-efi-amd64-signed '*/grubx64.efi.signed' &&
		cp "$W/deb/usr/lib/shim/shimx64.efi.signed" "$W/shimx64.efi" &&
		cp "$W/deb/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$W/grubx64.efi"
}

# enroll CERT: $W/vars-nomok.fd, Debian's OVMF's with Microsoft's keys, and
# $W/vars-mok.fd, the same with CERT (DER) in MokList.
enroll() {
	cp "$OVMF/OVMF_VARS_4M.ms.fd" "$W/vars-nomok.fd"
	in_build_env openssl x509 -inform DER -in "$1" -out "$TOP/$W/mok.pem" &&
		virt_fw_vars -i "$TOP/$W/vars-nomok.fd" -o "$TOP/$W/vars-mok.fd" \
			--add-mok "$SHIM_GUID" "$TOP/$W/mok.pem" >"$W/vars.log" 2>&1
}

# boot DIR APPEND mok|nomok CMD...: $W/root through shim and grub, by CMD
# (vm_suite NAME: its results counted; vm_boot: not) DIR GUEST... -- VM.SH ARGS
boot() {
	rm -rf "${W:?}/$1" && mkdir -p "$W/$1" && cp -a "$W/root" "$W/$1/"
	"${@:4}" "$W/$1" "${GUEST[@]}" -- --uefi "$W" --vars "$W/vars-$3.fd" \
		--timeout "$SB_TIMEOUT" --append "$2"
}

check_kernel() { # check_kernel SUITE ABI (after kernel_use)
	local abi=$2 t=$SECONDS root key cert c_ko rel
	W=build/secureboot/$abi root=build/secureboot/$abi/root
	rm -rf "$W" && mkdir -p "$root/secureboot" "$root/lib/modules/$abi/updates/dkms"
	# As on a user's machine: DKMS builds, signs with its own key, installs.
	sb_dkms || { result fail "$K_SUITE $abi: dkms build (log $W/dkms.log)"; return 0; }
	result ok "$K_SUITE $abi: dkms build"
	key=$DKMS_VAR/mok.key cert=$DKMS_VAR/mok.pub
	check "$abi: DKMS signed it with the key it made, $cert" \
		modinfo_is "$W/bpf_preload.ko" signer "DKMS module signing key"
	cp "$W/bpf_preload.ko" "$root/lib/modules/$abi/updates/dkms/"
	# Unsigned, and signed with a key nobody enrolls.
	copy_sources "$W/plain"
	if logged "$abi: an unsigned build (make)" "$W/plain.log" module_make "$TOP/$W/plain"; then
		check "$abi: an unsigned build (make)" \
			modinfo_is "$W/plain/bpf_preload.ko" sig_id ""
		cp "$W/plain/bpf_preload.ko" "$root/secureboot/unsigned.ko"
	fi
	# shellcheck disable=SC2016 # the inner shell expands them
	check "$abi: the same signed with a key not enrolled" in_build_env sh -c \
		'openssl req -new -x509 -nodes -days 1 -subj "/CN=not enrolled" -newkey rsa:2048 \
			-keyout "$1.key" -outform DER -out "$1.der" >/dev/null 2>&1' sh "$TOP/$W/other"
	sign "$TOP/$W/other.key" "$TOP/$W/other.der" "$TOP/$W/plain/bpf_preload.ko" "$TOP/$root/secureboot/wrongkey.ko" ||
		result fail "$abi: sign-file with the other key"
	# The kernel's own C module, signed with DKMS's key.
	{ c_ko=$(c_module 2>"$W/c_module.log") && cp "$c_ko" "$W/c_module.ko"; } ||
		cat "$W/c_module.log"
	check "$abi: the kernel's C module, signed with DKMS's key" \
		sign "$key" "$cert" "$TOP/$W/c_module.ko" "$TOP/$root/secureboot/c_module.ko"

	check "$abi: Debian's signed kernel" signed_kernel
	check "$abi: $K_SUITE's shim-signed and grub-efi-amd64-signed" loaders
	check "$abi: DKMS's certificate enrolled as a MOK (virt-fw-vars --add-mok)" enroll "$cert"

	# efivarfs, a module in Debian's kernels, for the guest to read SecureBoot.
	rel=$(awk -F: '$1 ~ /\/efivarfs\.ko/ {print $1; exit}' "$K_MODDIR/modules.dep")
	install -D -m 644 "$K_MODDIR/$rel" "$root/lib/modules/$K_ABI/$rel"

	VM_RUNS=2 boot integrity "" mok vm_suite "$abi: Secure Boot, MOK enrolled"
	# The control: without the MOK the load test must fail; its own results
	# are not counted.
	boot no-mok "" nomok vm_boot || true
	grep -a '^not ok' "$W/no-mok/vm.log" | sed "s/^/$R_NAME: $abi: control: /" || true
	check "$abi: negative control: without the MOK the load test fails" \
		grep -aq '^not ok [0-9]* the mount loaded the module' "$W/no-mok/vm.log"

	VM_RUNS=1 boot confidentiality lockdown=confidentiality mok \
		vm_suite "$abi: lockdown=confidentiality"
	grep -a '^# measured:' "$W/confidentiality/vm.log" | sed "s/^/$R_NAME: $abi: /" || true
	echo "$R_NAME: $abi: $((SECONDS - t)) s"
}

results_begin secureboot
need ovmf
test_programs || results_end
rm -rf "$DKMS_VAR"
for_each_kernel check_kernel
results_end
