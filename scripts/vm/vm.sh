#!/usr/bin/env bash
# Boot a kernel + initramfs (from mkinitramfs.sh) in QEMU (TCG) and return the
# exit code of the guest's /run-in-vm.
#
#   vm.sh --kernel <vmlinuz> --initrd <cpio.gz> [--timeout 300] [--log <file>]
#         [--append "extra cmdline"] [--mem 1G] [--smp 2] [--qemu-arg <arg>]...
#         [--arch amd64|arm64|ppc64el|riscv64|s390x]
#
# --arch is the kernel's Debian architecture (default amd64); each boots in
# its QEMU's usual machine with its serial console:
#   amd64    qemu-system-x86_64 (qemu-system-x86), ttyS0
#   arm64    qemu-system-aarch64 -M virt (qemu-system-arm), ttyAMA0
#   ppc64el  qemu-system-ppc64 -M pseries with QEMU's own small firmware
#            (x-vof) and the Spectre capabilities TCG cannot give set off
#            (qemu-system-ppc), hvc0
#   riscv64  qemu-system-riscv64 -M virt with OpenSBI (qemu-system-misc),
#            ttyS0
#   s390x    qemu-system-s390x -M s390-ccw-virtio (qemu-system-misc),
#            ttysclp0
# Debian's images of all five go to -kernel as they are.
# The serial console is streamed to stdout and to the log file, with the \r
# of the serial line and the firmware's terminal escape codes stripped.
# Exit status:
#   <rc>  the guest printed BPF_PRELOAD_VM_EXIT=<rc> (rc of /run-in-vm)
#   124   timeout: the guest did not finish in time; QEMU was killed
#   125   the guest ended without the marker (kernel panic, oops, crash) or
#         QEMU failed to start; a kernel that dies before /run-in-vm starts
#         (a TCG boot failure, no test ran) is booted once more first
#   130   interrupted
# Always TCG (`-accel tcg`): nested KVM is not usable on our hosts.
# The kernel runs with loglevel=4 (only errors and worse on the console; the
# tests read dmesg), panic=-1 and oops=panic (an oops ends the VM instead of
# letting a test carry on), and -no-reboot, so any panic ends QEMU at once.
set -euo pipefail

readonly PROG=${0##*/}
readonly MARKER=BPF_PRELOAD_VM_EXIT
# /init prints this just before it runs /run-in-vm (scripts/vm/mkinitramfs.sh).
readonly START=BPF_PRELOAD_VM_START
readonly -a APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 125; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat >&2 <<EOF
usage: $PROG --kernel <vmlinuz> --initrd <cpio.gz> [--timeout SECS] [--log FILE]
          [--append "extra kernel cmdline"] [--mem 1G] [--smp 2] [--qemu-arg ARG]...
          [--arch amd64|arm64|ppc64el|riscv64|s390x]
EOF
	exit 2
}

kernel="" initrd="" timeout_s=300 logfile="" append="" mem=1G smp=2 arch=amd64
qemu_extra=()
while (($#)); do
	case $1 in
	--kernel) kernel=${2:?--kernel needs a value}; shift ;;
	--initrd) initrd=${2:?--initrd needs a value}; shift ;;
	--timeout) timeout_s=${2:?--timeout needs a value}; shift ;;
	--log) logfile=${2:?--log needs a value}; shift ;;
	--append) append=${2?--append needs a value}; shift ;;
	--mem) mem=${2:?--mem needs a value}; shift ;;
	--smp) smp=${2:?--smp needs a value}; shift ;;
	--qemu-arg) qemu_extra+=("${2?--qemu-arg needs a value}"); shift ;;
	--arch) arch=${2:?--arch needs a value}; shift ;;
	-h | --help) usage ;;
	*) printf '%s: unknown argument: %s\n' "$PROG" "$1" >&2; usage ;;
	esac
	shift
done
[[ -n $kernel && -n $initrd ]] || usage
[[ -f $kernel ]] || die "kernel $kernel not found"
[[ -f $initrd ]] || die "initrd $initrd not found"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds"

cpu=max machine=()
case $arch in
amd64) QEMU=qemu-system-x86_64 qemu_pkg=qemu-system-x86 console="ttyS0,115200 edd=off" ;;
arm64)
	# Pointer authentication as QEMU's own cheap algorithm: boots twice as fast.
	QEMU=qemu-system-aarch64 qemu_pkg=qemu-system-arm console=ttyAMA0 cpu=max,pauth-impdef=on
	machine=(-machine virt)
	;;
ppc64el)
	QEMU=qemu-system-ppc64 qemu_pkg=qemu-system-ppc console=hvc0 cpu=power10
	machine=(-machine "pseries,x-vof=on,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off" -vga none)
	;;
riscv64) QEMU=qemu-system-riscv64 qemu_pkg=qemu-system-misc console=ttyS0 cpu=rv64 machine=(-machine virt) ;;
s390x) QEMU=qemu-system-s390x qemu_pkg=qemu-system-misc console=ttysclp0 machine=(-machine s390-ccw-virtio) ;;
*) die "unsupported --arch '$arch' (amd64, arm64, ppc64el, riscv64 or s390x)" ;;
esac
cmdline="console=$console panic=-1 oops=panic loglevel=4 rdinit=/init"
if ! command -v "$QEMU" >/dev/null 2>&1; then
	[[ $(id -u) -eq 0 ]] || die "$QEMU missing: apt-get install $qemu_pkg"
	log "installing $qemu_pkg"
	DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -y -qq \
		--no-install-recommends install "$qemu_pkg" >&2 ||
		die "cannot install $qemu_pkg"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
logref=""
if [[ -z $logfile ]]; then
	logfile=$work/console.log
else
	logref=" (log: $logfile)"
	mkdir -p "$(dirname -- "$logfile")"
fi

[[ -z $append ]] || cmdline+=" $append"

qemu_cmd=(
	"$QEMU" "${machine[@]}" -accel tcg -cpu "$cpu" -m "$mem" -smp "$smp"
	-nographic -no-reboot -nic none
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	"${qemu_extra[@]}"
)

# One boot; sets qrc, elapsed, interrupted.
boot() {
	log "booting ${kernel##*/} (timeout ${timeout_s}s)${logref}"
	# Console -> fifo -> strip \r -> stdout + log. QEMU runs in the background so
	# that a signal to us can stop it (timeout(1) puts it in its own process group).
	mkfifo "$work/console"
	sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c78]//g' <"$work/console" | tee "$logfile" &
	reader=$!
	start=$EPOCHREALTIME
	timeout --kill-after=10 "$timeout_s" "${qemu_cmd[@]}" </dev/null >"$work/console" 2>&1 &
	qpid=$!

	interrupted=0
	# shellcheck disable=SC2317 # invoked via trap
	on_signal() {
		interrupted=1
		kill -TERM "$qpid" 2>/dev/null || true
	}
	trap on_signal INT TERM HUP

	qrc=0
	wait "$qpid" || qrc=$?
	# A trapped signal interrupts `wait`; wait again until QEMU is really gone.
	while kill -0 "$qpid" 2>/dev/null; do
		qrc=0
		wait "$qpid" || qrc=$?
	done
	wait "$reader" || true
	trap - INT TERM HUP
	elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

	if ((interrupted)); then
		log "interrupted after ${elapsed}s; QEMU stopped"
		exit 130
	fi
	if ((qrc == 124 || qrc == 137)); then
		log "TIMEOUT: guest did not finish within ${timeout_s}s; QEMU killed${logref}"
		exit 124
	fi
}

# A kernel that dies before /init starts /run-in-vm has run none of our code:
# under TCG, Debian's 7.x kernels now and then oops in early boot while
# patching their own text (int3 in __hrtimer_start_range_ns, 2 vCPUs). That
# boot is tried once more, and said so; a second such death is a failure.
for attempt in 1 2; do
	rm -f "$work/console"
	boot
	((interrupted || qrc == 124 || qrc == 137)) && break
	grep -aq "${MARKER}=" "$logfile" && break
	grep -aq "$START" "$logfile" && break
	((attempt == 1)) || break
	cp "$logfile" "$logfile.first-boot"
	log "the kernel died before /run-in-vm started (not a test failure; log $logfile.first-boot): booting once more"
done

marker=$(grep -aoE "${MARKER}=[0-9]+" "$logfile" | tail -n 1 || true)
if [[ -z $marker ]]; then
	reason="guest ended without ${MARKER} marker"
	if grep -aq 'Kernel panic' "$logfile"; then
		reason+=": kernel panic: $(grep -a -m1 'Kernel panic' "$logfile" | sed 's/^.*Kernel panic - //')"
	elif ((qrc != 0)); then
		reason+=": QEMU exited with status $qrc"
	fi
	log "FAILED after ${elapsed}s: ${reason}${logref}"
	exit 125
fi
((qrc == 0)) || log "warning: QEMU exited with status $qrc after the marker"

rc=${marker#*=}
log "guest exit rc=$rc after ${elapsed}s"
exit "$rc"
