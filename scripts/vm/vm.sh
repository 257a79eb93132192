#!/usr/bin/env bash
# Boot a kernel + initramfs (from mkinitramfs.sh) in QEMU (TCG: nested KVM is
# not usable on our hosts) and return the exit code of the guest's /run-in-vm.
# Defaults: --timeout 300, --mem 1G, --arch amd64; --append: more of the cmdline.
# --uefi (amd64): a Secure Boot machine (OVMF's secboot code, q35 with SMM, a
# copy of VARS.fd) booting DIR/shimx64.efi, DIR/grubx64.efi and a grub.cfg
# from an EFI system partition. The console, without \r and escapes, goes to
# stdout and the log. oops=panic, panic=-1 and -no-reboot: an oops ends the
# VM. Exit: the guest's BPF_PRELOAD_VM_EXIT=<rc>; 124 timeout; 125 no such
# line (panic, crash, QEMU failed); 130 interrupted.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
DIE_STATUS=125
# /init prints START just before it runs /run-in-vm (scripts/vm/mkinitramfs.sh).
readonly MARKER=BPF_PRELOAD_VM_EXIT START=BPF_PRELOAD_VM_START

USAGE="--kernel FILE --initrd FILE --log FILE [--timeout SECS] [--append ARGS] [--mem SIZE]
	[--arch ARCH] [--uefi DIR --vars FILE]"
kernel="" initrd="" timeout=300 log="" append="" mem=1G arch=amd64 uefi="" vars=""
parse_options kernel initrd timeout log append mem arch uefi vars -- "$@"
[[ -n $kernel && -n $initrd && -n $log ]] || usage
[[ -z $uefi$vars || -n $uefi && -n $vars && $arch == amd64 ]] || usage "--uefi and --vars, amd64"
for f in "$kernel" "$initrd" ${uefi:+"$uefi/shimx64.efi" "$uefi/grubx64.efi" "$vars"}; do
	[[ -f $f ]] || die "$f not found"
done
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds"
arch_facts "$arch"
need "$QEMU_PKG" ${uefi:+ovmf mtools fdisk}

work=$(mktemp -d "${TMPDIR:-/tmp}/vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname -- "$log")"

cmdline="console=$CONSOLE panic=-1 oops=panic loglevel=4 rdinit=/init${append:+ $append}"
qemu_cmd=("$QEMU" -accel tcg -cpu "$CPU" -m "$mem" -smp 2 -nographic -no-reboot -nic none)
if [[ -z $uefi ]]; then
	qemu_cmd+=("${MACHINE[@]}" -kernel "$kernel" -initrd "$initrd" -append "$cmdline")
else
	esp=$work/esp.img part=$work/esp.img@@1M ovmf=/usr/share/OVMF
	printf 'set timeout=0\nlinux /vmlinuz %s\ninitrd /initrd.cpio.gz\nboot\n' "$cmdline" \
		>"$work/grub.cfg"
	cp "$vars" "$work/vars.fd"
	truncate -s 128M "$esp"
	printf 'label: gpt\nstart=2048, size=258048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' |
		sfdisk -q "$esp" || die "sfdisk $esp failed"
	{ mformat -i "$part" -T 258048 -h 64 -s 32 -F :: && mmd -i "$part" ::/EFI ::/EFI/BOOT &&
		mcopy -i "$part" "$uefi/shimx64.efi" ::/EFI/BOOT/BOOTX64.EFI &&
		mcopy -i "$part" "$uefi/grubx64.efi" "$work/grub.cfg" ::/EFI/BOOT/ &&
		mcopy -i "$part" "$kernel" ::/vmlinuz && mcopy -i "$part" "$initrd" ::/initrd.cpio.gz; } ||
		die "the ESP image failed"
	qemu_cmd+=(-machine "q35,smm=on" -global "driver=cfi.pflash01,property=secure,value=on"
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf/OVMF_CODE_4M.secboot.fd"
		-drive "if=pflash,format=raw,unit=1,file=$work/vars.fd"
		-drive "if=none,id=esp,format=raw,file=$esp" -device "virtio-blk-pci,drive=esp,bootindex=0")
fi

# One boot; sets qrc, elapsed.
boot() {
	log "booting ${kernel##*/} (timeout ${timeout}s) (log: $log)"
	# QEMU in the background, so that a signal to us can stop it (timeout(1)
	# puts it in its own process group).
	rm -f "$work/console"
	mkfifo "$work/console"
	sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c78]//g' <"$work/console" |
		tee "$log" &
	reader=$!
	start=$EPOCHREALTIME
	timeout --kill-after=10 "$timeout" "${qemu_cmd[@]}" </dev/null >"$work/console" 2>&1 &
	qpid=$!
	interrupted=0
	trap 'interrupted=1; kill -TERM "$qpid" 2>/dev/null || true' INT TERM HUP
	# A trapped signal interrupts `wait`; wait again until QEMU is really gone.
	while
		qrc=0
		wait "$qpid" || qrc=$?
		kill -0 "$qpid" 2>/dev/null
	do :; done
	wait "$reader" || true
	trap - INT TERM HUP
	elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	((!interrupted)) || DIE_STATUS=130 die "interrupted after ${elapsed}s; QEMU stopped"
	((qrc != 124 && qrc != 137)) ||
		DIE_STATUS=124 die "TIMEOUT: guest did not finish within ${timeout}s; QEMU killed (log: $log)"
}

# A kernel that dies before /run-in-vm ran none of our code: under TCG, Debian's
# 7.x kernels now and then oops in early boot patching their own text (int3 in
# __hrtimer_start_range_ns, 2 vCPUs). Once more, then; a second is a failure.
boot
if ! grep -aq -e "${MARKER}=" -e "$START" "$log"; then
	cp "$log" "$log.first-boot"
	log "the kernel died before /run-in-vm started (not a test failure; log $log.first-boot):" \
		"booting once more"
	boot
fi

marker=$(grep -aoE "${MARKER}=[0-9]+" "$log" | tail -n 1 || true)
if [[ -z $marker ]]; then
	reason="guest ended without ${MARKER} marker"
	if grep -aq 'Kernel panic' "$log"; then
		reason+=": kernel panic: $(grep -a -m1 'Kernel panic' "$log" | sed 's/^.*Kernel panic - //')"
	elif ((qrc != 0)); then
		reason+=": QEMU exited with status $qrc"
	fi
	die "FAILED after ${elapsed}s: ${reason} (log: $log)"
fi
((qrc == 0)) || log "warning: QEMU exited with status $qrc after the marker"

rc=${marker#*=}
log "guest exit rc=$rc after ${elapsed}s"
exit "$rc"
