# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The host side of every check, sourced by the drivers in scripts/check/:
# results, the kernel matrix, build environments and VM boots that run a
# guest suite and collect its KTAP.
#
#   results_begin NAME          start counting; lines are "NAME: ..."
#   result ok|fail|skip DESC    one result
#   check DESC CMD...           result of CMD's exit status
#   results_end                 print "N passed, N failed, N skipped",
#                               record "P F S" in $BPF_PRELOAD_RESULT, return
#                               non-zero on any failure
#   kernel_matrix               "SUITE ABI" lines for $SUITES and ARCH
#   for_each_kernel FUNC ARGS...  FUNC ARGS... SUITE ABI for each of them,
#                               fetched (kernel_use), its results tallied
#                               per kernel (build/results/per-kernel)
#   kernel_use SUITE ABI        fetch it; set K_SUITE, K_ABI, K_KDIR (in the
#                               build environment; K_KDIR_HOST: the same from
#                               here), K_VMLINUZ, K_MODDIR
#   kernel_build DESC DIR ARGS...  build one from Debian's linux-source
#                               (scripts/kernel/kernel-build.sh ARGS, its log
#                               in DIR), a result for it; set K_ABI, K_KDIR
#                               (on the host), K_VMLINUZ, K_MODDIR, K_MAP,
#                               K_LOG and the rest of its report
#   cross                       true when ARCH is not the build machine's
#   in_build_env CMD...         CMD in K_SUITE's chroot (K_BUILD_SYSTEM's if
#                               set), the tree mounted at its own path, in
#                               the current directory
#   module_make DIR ARGS...     make -C DIR KDIR=K_KDIR ARGS there, cross
#                               for a foreign ARCH
#   test_programs               build the static test programs for ARCH
#                               (PROGRAMS_BIN) and, natively, bench/bin
#   c_module                    the kernel's own C module for K_ABI: its path
#   dkms_build OUTDIR           the module as DKMS builds it for K_ABI,
#                               into OUTDIR/bpf_preload.ko; checks zero
#                               warnings; results for both
#   guest_tree ROOT             tests/ (guest suites, library, programs)
#                               into ROOT/tests
#   vm_boot DIR ARGS...         boot K_VMLINUZ with ARCH's user space, the
#                               guest tree (tests/) and DIR/root on top,
#                               /run-in-vm running ARGS; vm.sh's own ARGS
#                               after --
#   vm_suite NAME DIR ARGS...   vm_boot, then add the KTAP results of the
#                               log (plans checked; with VM_RUNS=N set, N
#                               complete KTAP runs required)
set -o pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly TOP
readonly KERNELS=$TOP/scripts/kernel/kernels.sh
readonly CHROOT=$TOP/scripts/kernel/chroot.sh
# The Makefile's SUITES (the one list) when run from make; the same by hand.
: "${SUITES:=bookworm trixie trixie-backports sid}"
# The Debian architecture of the kernels (make check ARCH=...), kbuild's
# name for it and its compilers' GNU triplet.
: "${BPF_PRELOAD_ARCH:=amd64}"
readonly ARCH_DEB=$BPF_PRELOAD_ARCH
read -r ARCH_KBUILD ARCH_TRIPLET _ < <("$KERNELS" --arch "$ARCH_DEB" target) || exit 1
readonly ARCH_KBUILD ARCH_TRIPLET
cross() { [ "$ARCH_DEB" != "$(dpkg --print-architecture)" ]; }

R_NAME=check R_PASS=0 R_FAIL=0 R_SKIP=0 R_START=$SECONDS

results_begin() { R_NAME=$1 R_PASS=0 R_FAIL=0 R_SKIP=0 R_START=$SECONDS; }

result() { # result ok|fail|skip DESC
	case $1 in
	ok) R_PASS=$((R_PASS + 1)); echo "$R_NAME: ok - $2" ;;
	skip) R_SKIP=$((R_SKIP + 1)); echo "$R_NAME: SKIP - $2" ;;
	*) R_FAIL=$((R_FAIL + 1)); echo "$R_NAME: FAIL - $2" ;;
	esac
}

check() { # check DESC CMD...
	local desc=$1
	shift
	if "$@"; then result ok "$desc"; else result fail "$desc"; fi
}

results_end() {
	echo "$R_NAME: $R_PASS passed, $R_FAIL failed, $R_SKIP skipped ($((SECONDS - R_START)) s)"
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$R_PASS $R_FAIL $R_SKIP" >"$BPF_PRELOAD_RESULT"
	[ "$R_FAIL" -eq 0 ]
}

# Per-kernel tallies for the support table (scripts/check/support-table.sh):
# what a target counted between kernel_begin and kernel_end.
kernel_begin() { KB_PASS=$R_PASS KB_FAIL=$R_FAIL KB_SKIP=$R_SKIP; }
kernel_end() { # kernel_end SUITE ABI
	mkdir -p "$TOP/build/results"
	printf '%s\t%s\t%s\t%d\t%d\t%d\n' "$R_NAME" "$1" "$2" $((R_PASS - KB_PASS)) \
		$((R_FAIL - KB_FAIL)) $((R_SKIP - KB_SKIP)) >>"$TOP/build/results/per-kernel"
}

kernel_matrix() {
	# shellcheck disable=SC2086 # a list of suites
	"$KERNELS" --arch "$ARCH_DEB" list $SUITES
}

# FUNC ARGS... SUITE ABI for every kernel of $SUITES, once kernel_use has
# fetched it (one that cannot be fetched is a failure, and FUNC does not
# run for it); what it counts is tallied per kernel.
for_each_kernel() { # for_each_kernel FUNC ARGS...
	local matrix entry suite abi
	mapfile -t matrix < <(kernel_matrix) || true
	((${#matrix[@]})) || { result fail "kernel matrix of SUITES='$SUITES'"; return 0; }
	for entry in "${matrix[@]}"; do
		read -r suite abi <<<"$entry"
		kernel_begin
		if kernel_use "$suite" "$abi"; then
			"$@" "$suite" "$abi"
		else
			result fail "$suite $abi: fetch headers and image"
		fi
		kernel_end "$suite" "$abi"
	done
}

kernel_use() { # kernel_use SUITE ABI
	unset K_SUITE K_ABI K_KDIR K_KDIR_HOST K_VMLINUZ K_MODDIR
	"$KERNELS" --arch "$ARCH_DEB" fetch "$1" "$2" || return
	local cache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}
	K_SUITE=$1 K_ABI=$2 K_KDIR=/usr/src/linux-headers-$2
	# shellcheck disable=SC2034 # for the drivers
	K_KDIR_HOST=$("$CHROOT" path "$1")$K_KDIR \
		K_VMLINUZ=$cache/kernels/$2/vmlinuz K_MODDIR=$cache/kernels/$2/modules/$2
}

# A kernel of our own: no suite, no build environment; kernel-build.sh
# reports the K_ variables (key=value lines, read here, never evaluated).
kernel_build() { # kernel_build DESC DIR ARGS...
	local desc=$1 dir=$2 k v
	shift 2
	unset K_SUITE K_ABI K_KDIR K_KDIR_HOST K_VMLINUZ K_MODDIR
	mkdir -p "$dir"
	if ! "$TOP/scripts/kernel/kernel-build.sh" "$@" >"$dir/kernel.env" 2>"$dir/kernel-build.log"; then
		tail -n 30 "$dir/kernel-build.log"
		result fail "$desc: the kernel builds (log $dir/kernel-build.log)"
		return 1
	fi
	while IFS='=' read -r k v; do
		case $k in K_[A-Z_]*) printf -v "$k" '%s' "$v" ;; esac
	done <"$dir/kernel.env"
	result ok "$desc: linux-source $K_SRCVER builds $K_ABI (this run ${K_SECONDS}s, first full build ${K_FULL_SECONDS}s)"
}

in_build_env() {
	"$CHROOT" run "${K_BUILD_SYSTEM:-$K_SUITE}" --bind "$TOP" "$@"
}

# make -C DIR ARGS... in the build environment for K_KDIR, with kbuild's
# ARCH and the cross compiler when ARCH is not the build machine's.
module_make() { # module_make DIR ARGS...
	local dir=$1 xargs=()
	shift
	cross && xargs=(ARCH="$ARCH_KBUILD" CROSS_COMPILE="$ARCH_TRIPLET-")
	in_build_env make -C "$dir" KDIR="$K_KDIR" "${xargs[@]}" "$@"
}

# Builds as a user's machine does (dkms add + build, private DKMS trees):
# OUTDIR/bpf_preload.ko and OUTDIR/build.log.
dkms_build() { # dkms_build OUTDIR
	local out=$1 what="$K_SUITE $K_ABI: dkms build${K_BUILD_SYSTEM:+ in $K_BUILD_SYSTEM}"
	rm -rf "$out" && mkdir -p "$out"
	if ! in_build_env scripts/pkg/dkms-build.sh "$K_ABI" "$K_KDIR" "$out" >"$out/build.log" 2>&1; then
		tail -n 30 "$out/build.log"
		result fail "$what (log $out/build.log)"
		return 1
	fi
	result ok "$what"
	check "$what: zero warnings" no_warnings "$out/build.log"
}

no_warnings() { ! grep -i warning "$1"; }

# The static test programs, and natively the bench's, built in a suite's
# chroot of ARCH (run by qemu-user elsewhere), not on the host: a host of
# Debian 13 cannot link them statically (its elfutils 0.192 libelf.a lacks
# the objects it left in the unshipped libeu.a). Any release whose libelf.a
# links will do; the programs run on every kernel. The same chroot is the
# guest's user space (busybox, bpftool). riscv64 is a release architecture
# from trixie on, so it takes sid's.
if [ "$ARCH_DEB" = riscv64 ]; then : "${PROGRAMS_SUITE:=sid}"; else : "${PROGRAMS_SUITE:=bookworm}"; fi
readonly GUEST_SYSTEM=$PROGRAMS_SUITE:$ARCH_DEB
if cross; then PROGRAMS_BIN=$TOP/build/$ARCH_DEB/bin; else PROGRAMS_BIN=$TOP/tests/bin; fi
readonly PROGRAMS_BIN
test_programs() {
	local bench="make -s -C bench >/dev/null"
	cross && bench=true
	"$CHROOT" run "$GUEST_SYSTEM" --bind "$TOP" sh -c \
		"make -s -C tests BIN='$PROGRAMS_BIN' >/dev/null && $bench"
}

# The kernel's own C module (kernel/bpf/preload) for K_ABI, built in its
# suite's chroot from the suite's linux-source (bench/cmodule.sh, cached):
# prints the .ko's path.
c_module() {
	local cache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/cmodule
	mkdir -p "$cache"
	"$CHROOT" run "$K_SUITE" --bind "$TOP" --bind "$cache" "$TOP/bench/cmodule.sh" "$K_ABI"
}

# KTAP of one guest log: for every plan "1..N", the ok / not ok / SKIP
# lines up to its "# Totals:" line. Prints "pass fail skip runs" (runs:
# plans that reached Totals); a plan that does not match what ran, or a run
# without Totals, is one more failure.
ktap_count() { # ktap_count LOG
	awk '
		/^1\.\.[0-9]+$/ { if (inplan) bad++; inplan = 1; plan = substr($0, 4); ran = 0; next }
		inplan && /^ok [0-9]+ .*# SKIP/ { skip++; ran++; next }
		inplan && /^ok [0-9]+ / { pass++; ran++; next }
		inplan && /^not ok [0-9]+ / { fail++; ran++; next }
		inplan && /^# Totals: / {
			if (ran != plan) { bad++; printf "plan 1..%d, %d ran\n", plan, ran > "/dev/stderr" }
			inplan = 0; runs++
		}
		END {
			if (inplan) { bad++; print "a plan without # Totals (guest died?)" > "/dev/stderr" }
			if (!runs) { bad++; print "no KTAP run in the log" > "/dev/stderr" }
			print pass + 0, fail + bad, skip + 0, runs + 0
		}' "$1"
}

# The guest side (tests/: suites, their library, test programs) as /tests
# of a VM root.
guest_tree() { # guest_tree ROOT
	mkdir -p "$1/tests/bin"
	cp -r "$TOP"/tests/*.sh "$1/tests/"
	cp -r "$PROGRAMS_BIN/." "$1/tests/bin/"
	if [ -d "$TOP/tests/lib" ]; then cp -r "$TOP/tests/lib" "$1/tests/"; fi
}

# Boots K_VMLINUZ with the guest tree and DIR/root, /run-in-vm running
# ARGS; the console goes to DIR/vm.log. Returns vm.sh's status.
vm_boot() { # vm_boot DIR ARGS... [-- VM.SH ARGS...]
	local dir=$1 args=() vmargs=()
	shift
	while (($#)) && [ "$1" != -- ]; do args+=("$1"); shift; done
	(($#)) && shift
	vmargs=("$@")
	guest_tree "$dir/root"
	printf '#!/bin/sh\nexec %s\n' "${args[*]}" >"$dir/root/run-in-vm"
	chmod +x "$dir/root/run-in-vm"
	"$TOP/scripts/vm/mkinitramfs.sh" --out "$dir/initrd.cpio.gz" --root "$dir/root" \
		--kver "$K_ABI" --sysroot "$("$CHROOT" path "$GUEST_SYSTEM")" >"$dir/mkinitramfs.log" 2>&1 ||
		{ cat "$dir/mkinitramfs.log"; return 125; }
	"$TOP/scripts/vm/vm.sh" --arch "$ARCH_DEB" --kernel "$K_VMLINUZ" --initrd "$dir/initrd.cpio.gz" \
		--timeout "${VM_TIMEOUT:-900}" --log "$dir/vm.log" "${vmargs[@]}"
}

# vm_boot, and the KTAP results of its log added to ours; with VM_RUNS=N
# in the environment, fewer or more than N complete runs is a failure.
vm_suite() { # vm_suite NAME DIR ARGS... [-- VM.SH ARGS...]
	local name=$1 dir=$2 rc=0 p f s runs
	shift 2
	vm_boot "$dir" "$@" || rc=$?
	read -r p f s runs < <(ktap_count "$dir/vm.log")
	echo "$R_NAME: $name: $p passed, $f failed, $s skipped in $runs run(s) in the VM (vm.sh rc $rc)"
	R_PASS=$((R_PASS + p)) R_FAIL=$((R_FAIL + f)) R_SKIP=$((R_SKIP + s))
	if [ -n "${VM_RUNS:-}" ] && [ "$runs" -ne "$VM_RUNS" ]; then
		result fail "$name: all $VM_RUNS in-VM suites ran to completion ($runs did; vm.sh rc $rc)"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		result fail "$name: VM exit status $rc"
	fi
}

# For check-install and check-deb (packaging): what `make install` and `make
# dkms-add` need of a checkout (the module's sources, mk/install.mk and the
# source list) into DEST; the kernel's module metadata into DIR, as an
# installed system has it (depmod reads it); file tests.
checkout_copy() { # checkout_copy DEST
	scripts/pkg/dkms-source.sh "$1"
	tar -C "$TOP" -c mk/install.mk scripts/pkg/dkms-source.sh | tar -x -C "$1"
}
kernel_metadata() { # kernel_metadata DIR
	mkdir -p "$1" && cp "$K_MODDIR"/modules.{order,builtin,builtin.modinfo} "$1/"
}
absent() { # absent PATH...: none of them exists
	local p
	for p; do [ ! -e "$p" ] || return 1; done
}
unlisted() { ! grep -q bpf_preload "$@"; } # unlisted FILE...: none names the module
