#!/usr/bin/env bash
# Build a busybox initramfs for running bpf_preload tests in a QEMU VM.
#
#   mkinitramfs.sh --out <file.cpio.gz> --root <overlay-dir> [--kver <uname-r>]
#                  [--sysroot <dir>] [--bin <path>]...
#                  [--moddir <dir> --kmod <name>...]
#
# The guest's user space comes from --sysroot, a Debian system of the
# guest's architecture (default /, this machine; the checks pass the build
# chroot of the architecture, scripts/kernel/chroot.sh SUITE:ARCH, whose
# programs run here under qemu-user). The image contains:
#   * its busybox (busybox-static), every applet symlinked into /bin, /sbin,
#     /usr/bin and /usr/sbin;
#   * its /usr/sbin/bpftool and any --bin program, each with the shared
#     libraries it needs (DT_NEEDED, found in the sysroot's library dirs)
#     and its dynamic loader, at the same paths;
#   * with --moddir (an in-tree modules dir): the modules.builtin/order
#     metadata, and each --kmod module with its dependencies;
#   * with --kver (implied by --moddir): /lib/modules/<kver>, indexed with
#     depmod after the overlay is added, so `modprobe <name>` works in the VM
#     for --kmod modules and for modules the overlay puts there (e.g.
#     lib/modules/<kver>/extra/bpf_preload.ko);
#   * /init (below), which mounts proc, sysfs, devtmpfs, devpts, debugfs,
#     tracefs and cgroup2, creates /lib/modules/$(uname -r), runs /run-in-vm
#     with the console as stdin/stdout/stderr, prints exactly one line
#     `BPF_PRELOAD_VM_EXIT=<rc>` and powers off at once (poweroff -f);
#   * the overlay dir, copied last on top of everything (it wins). It must
#     contain an executable /run-in-vm.
# Kernel command line `KEY=value` words that the kernel does not know reach
# /run-in-vm as environment variables (vm.sh --append "FOO=1").
set -euo pipefail

readonly PROG=${0##*/}
readonly BPFTOOL=/usr/sbin/bpftool
readonly -a APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat >&2 <<EOF
usage: $PROG --out <file.cpio.gz> --root <overlay-dir> [--kver <uname-r>]
            [--sysroot <dir>] [--bin <path>]... [--moddir <modules-dir> [--kmod <name>]...]
EOF
	exit 2
}

# need <command> <package>: install the package if missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[[ $(id -u) -eq 0 ]] || die "$1 missing, install as root: apt-get install $2"
	log "installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -y -qq \
		--no-install-recommends install "$2" >&2 || die "cannot install $2"
}

out="" overlay="" kver="" moddir="" sysroot=/
extra_bins=() kmods=()
while (($#)); do
	case $1 in
	--out) out=${2:?--out needs a value}; shift ;;
	--root) overlay=${2:?--root needs a value}; shift ;;
	--kver) kver=${2:?--kver needs a value}; shift ;;
	--bin) extra_bins+=("${2:?--bin needs a value}"); shift ;;
	--moddir) moddir=${2:?--moddir needs a value}; shift ;;
	--kmod) kmods+=("${2:?--kmod needs a value}"); shift ;;
	--sysroot) sysroot=${2:?--sysroot needs a value}; shift ;;
	-h | --help) usage ;;
	*) die "unknown argument: $1" ;;
	esac
	shift
done
[[ -n $out && -n $overlay ]] || usage
[[ -d $overlay ]] || die "overlay dir $overlay does not exist"
[[ -f $overlay/run-in-vm ]] || die "$overlay/run-in-vm missing (the script the VM runs)"
if ((${#kmods[@]})) && [[ -z $moddir ]]; then die "--kmod needs --moddir"; fi
if [[ -n $moddir ]]; then
	[[ -f $moddir/modules.dep ]] || die "$moddir/modules.dep missing"
	moddir=$(cd "$moddir" && pwd)
	[[ -n $kver ]] || kver=${moddir##*/}
	[[ ${moddir##*/} == "$kver" ]] || die "--moddir ${moddir##*/} does not match --kver $kver"
fi

sysroot=${sysroot%/}
BUSYBOX=$sysroot/bin/busybox
[[ -f $BUSYBOX ]] || die "no $BUSYBOX: apt-get install busybox-static in ${sysroot:-/}"
[[ -f $sysroot$BPFTOOL ]] || die "no $sysroot$BPFTOOL: apt-get install bpftool in ${sysroot:-/}"
need readelf binutils
need cpio cpio
need gzip gzip

stage=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,run,root,var/tmp,mnt} \
	"$stage"/tmp
chmod 1777 "$stage/tmp" "$stage/var/tmp"
chmod 700 "$stage/root"

# --- busybox and its applets -------------------------------------------------
cp "$BUSYBOX" "$stage/bin/busybox"
chmod 755 "$stage/bin/busybox"
while read -r applet; do
	[[ -n $applet && $applet != busybox ]] || continue
	ln -s /bin/busybox "$stage/bin/$applet"
done < <("$stage/bin/busybox" --list)
for d in sbin usr/bin usr/sbin; do
	cp -a "$stage/bin/." "$stage/$d/"
	rm -f "$stage/$d/busybox"
done

# --- programs and their libraries -------------------------------------------
# A path inside the sysroot, with symlinks on the way resolved inside it
# too (absolute links point into it).
sysroot_path() {
	local p=$1 i=0 link
	while [[ -L $sysroot$p ]]; do
		((++i < 40)) || die "$p: too many symlinks in ${sysroot:-/}"
		link=$(readlink "$sysroot$p")
		if [[ $link == /* ]]; then p=$link; else p=$(dirname "$p")/$link; fi
	done
	printf '%s\n' "$sysroot$p"
}

# Copy $1 (a path inside the sysroot) into the image at the same path,
# replacing (never writing through) a busybox symlink that may sit there.
put_file() {
	local src
	src=$(sysroot_path "$1")
	[[ -f $src ]] || die "$1 not found in ${sysroot:-/}"
	mkdir -p "$stage$(dirname "$1")"
	rm -f "$stage$1"
	cp -L --preserve=mode "$src" "$stage$1"
}

# add_program PATH: the program, its interpreter and, recursively, the
# DT_NEEDED libraries, looked up in the sysroot's library dirs.
libdirs=()
for d in "$sysroot"/lib/*-linux-gnu* "$sysroot"/usr/lib/*-linux-gnu* "$sysroot"/lib64 \
	"$sysroot"/lib "$sysroot"/usr/lib; do
	[[ -d $d ]] && libdirs+=("${d#"$sysroot"}")
done
add_program() {
	local bin=$1 interp lib dir found
	[[ $bin == /* ]] || die "--bin $bin: use an absolute path (inside ${sysroot:-/})"
	[[ -e $stage$bin && ! -L $stage$bin ]] && return 0
	put_file "$bin"
	interp=$(readelf -lW "$(sysroot_path "$bin")" 2>/dev/null |
		sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	[[ -z $interp || -e $stage$interp ]] || put_file "$interp"
	while read -r lib; do
		[[ -n $lib ]] || continue
		found=""
		for dir in "${libdirs[@]}"; do
			if [[ -e $sysroot$dir/$lib ]]; then found=$dir/$lib; break; fi
		done
		[[ -n $found ]] || die "$bin needs $lib, which is not in ${sysroot:-/}"
		add_program "$found"
	done < <(readelf -dW "$(sysroot_path "$bin")" 2>/dev/null |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
}

add_program "$BPFTOOL"
for b in "${extra_bins[@]}"; do add_program "$b"; done

# --- kernel modules ----------------------------------------------------------
if [[ -n $kver ]]; then mkdir -p "$stage/lib/modules/$kver"; fi
if [[ -n $moddir ]]; then
	mdst="$stage/lib/modules/$kver"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		if [[ -f $moddir/$f ]]; then cp "$moddir/$f" "$mdst/"; fi
	done
	for name in "${kmods[@]}"; do
		norm=${name//-/_}
		# modules.dep line: "kernel/x/y.ko[.xz]: dep1.ko dep2.ko"
		line=$(awk -v want="$norm" -F: '{
			n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n)
			if (n == want) { print; exit }
		}' "$moddir/modules.dep")
		[[ -n $line ]] || die "--kmod $name: not in $moddir/modules.dep"
		for rel in ${line/:/ }; do
			mkdir -p "$mdst/${rel%/*}"
			cp "$moddir/$rel" "$mdst/$rel"
		done
	done
fi

# --- /init -------------------------------------------------------------------
cat >"$stage/init" <<'EOF'
#!/bin/sh
# bpf_preload test VM init, generated by scripts/vm/mkinitramfs.sh.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
# Start on a fresh line: firmware output before the kernel's serial setup may
# lose its last characters, newline included.
echo
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts 2>/dev/null
mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p "/lib/modules/$(uname -r)"
hostname bpf-preload-vm
ip link set lo up 2>/dev/null
cd /
rc=0
echo BPF_PRELOAD_VM_START
/run-in-vm || rc=$?
sync
echo "BPF_PRELOAD_VM_EXIT=$rc"
poweroff -f
# Not reached; if it were, PID 1 exiting panics the kernel (panic=-1 ends QEMU).
EOF
chmod 755 "$stage/init"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$stage/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$stage/etc/group"
: >"$stage/etc/fstab"
# The kernel opens /dev/console for /init before devtmpfs is mounted.
if [[ $(id -u) -eq 0 ]]; then
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
fi

# --- overlay -----------------------------------------------------------------
# --remove-destination: replace busybox symlinks instead of writing through them.
cp -a --remove-destination "$overlay/." "$stage/"
chmod 755 "$stage/run-in-vm"

# Index the modules (--kmod ones and any *.ko the overlay put under
# /lib/modules/<kver>) so that modprobe works without a depmod in the VM.
if [[ -n $kver ]] && [[ -n $(find "$stage/lib/modules/$kver" -name '*.ko*' -print -quit) ]]; then
	need depmod kmod
	depmod -b "$stage" "$kver" || die "depmod -b $stage $kver failed"
fi

# --- archive -----------------------------------------------------------------
mkdir -p "$(dirname -- "$out")"
tmp_out="$out.tmp.$$"
(
	cd "$stage"
	find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet
) | gzip -n -6 >"$tmp_out" || { rm -f "$tmp_out"; die "cpio/gzip failed"; }
mv -f "$tmp_out" "$out"
log "wrote $out ($(du -h "$out" | cut -f1))"
