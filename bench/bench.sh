#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--quick]   `make bench`: for each kernel of $SUITES, this module
# and the kernel's own C module (bench/cmodule.sh), one QEMU boot running
# bench/vm-bench.sh, and the report bench/results/<suite>-<series>.md (from
# the VM's output by bench/report.cpp) with its plot
# <suite>-<series>-listing.png; logs in build/bench/<abi>/. Under
# QEMU TCG (no KVM here) every time is emulated: the ratios are what counts.
#
# --quick (`make check-bench`): few rounds and objects, into build/bench/quick/;
# checks that every figure was measured and records "0 <failed> 0" (the
# bench's steps are not tests of the module). Timings are never checked.
# Overrides: BENCH_ROUNDS, BENCH_MAPS, BENCH_PROGS, BENCH_SWEEP ("100 1000 ..."),
# BENCH_REPS, BENCH_PROFILE (traced insmods per module), BENCH_TIMEOUT (s per
# VM), BENCH_OURS_DIR=<dir> (measure <dir>/<abi>/bpf_preload.ko, e.g. a
# patched build, instead of the working tree's; into build/bench/variant/).
set -euo pipefail

# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../scripts/lib/host.sh"

USAGE="[--quick]   (kernels: SUITES)"
[[ $# -eq 0 || $* == --quick ]] || usage
if [[ $* == --quick ]]; then
	rounds=${BENCH_ROUNDS:-2} maps=${BENCH_MAPS:-200} progs=${BENCH_PROGS:-100}
	sweep=${BENCH_SWEEP:-50 100 200} reps=${BENCH_REPS:-1} profile=${BENCH_PROFILE:-1}
	outdir=build/bench/quick logs=build/bench/quick
else
	rounds=${BENCH_ROUNDS:-61} maps=${BENCH_MAPS:-2000} progs=${BENCH_PROGS:-1000}
	sweep=${BENCH_SWEEP:-100 1000 5000 10000} reps=${BENCH_REPS:-7} profile=${BENCH_PROFILE:-15}
	outdir=bench/results logs=build/bench
	[ -z "${BENCH_OURS_DIR:-}" ] || outdir=build/bench/variant
fi
ours_dir=${BENCH_OURS_DIR:+$(cd "$BENCH_OURS_DIR" && pwd)}

scripts/deps.sh
need gnuplot-nox
mkdir -p "$outdir"

plot() { # plot ABI PNG DAT
	gnuplot <<-EOF || return
		set terminal pngcairo size 1100,450 font ",10"
		set output "$2"
		set multiplot layout 1,2 title "Listing N programs on $1 (QEMU TCG, shared host; " . \
			"line: minimum of $reps reads, bar: up to the median)"
		set key top left
		set grid
		set xlabel "N programs"
		set ylabel "time (ms)"
		set title "linear axes"
		plot "$3" using 1:9:9:8 with yerrorlines lw 2 title "bpftool prog show", \
		     "$3" using 1:3:3:2 with yerrorlines lw 2 title "progs.debug (this module)", \
		     "$3" using 1:6:6:5 with yerrorlines lw 1 dt 2 title "progs.debug (C module)"
		set logscale xy
		set title "log-log (slope 1 = linear in N)"
		replot
		unset multiplot
	EOF
	[ -s "$2" ]
}

# One kernel (after kernel_use): both modules built, one boot, the report.
bench_kernel() { # bench_kernel SUITE ABI
	local abi=$2 dir=$logs/$2 s c_ko md load_before missing rc=0
	s=$1-$(cut -d. -f1,2 <<<"$abi") # results by suite and series: trixie-6.12.md
	rm -rf "$dir" && mkdir -p "$dir/src" "$dir/root/bench"
	# This module from the DKMS package's source list, built with plain kbuild.
	scripts/pkg/dkms-source.sh "$dir/src"
	logged "$abi: this module builds" "$dir/build.log" module_make "$dir/src" || return 0
	c_ko=$(c_module) || { result fail "$abi: the kernel's C module builds"; return 0; }
	result ok "$abi: both modules build"
	[ -z "$ours_dir" ] || cp "$ours_dir/$abi/bpf_preload.ko" "$dir/src/bpf_preload.ko"
	cp "$dir/src/bpf_preload.ko" "$dir/root/bench/ours.ko"
	cp "$c_ko" "$dir/root/bench/c.ko"
	cp bench/bin/bpfbench bench/vm-bench.sh "$dir/root/bench/"
	printf '%s\n' "ROUNDS=$rounds" "MAPS=$maps" "PROGS=$progs" "SWEEP=\"$sweep\"" "REPS=$reps" \
		"PROFILE=$profile" >"$dir/root/bench/config"
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	VM_TIMEOUT=${BENCH_TIMEOUT:-3600} vm_boot "$dir" /bench/vm-bench.sh -- --mem 2G \
		>/dev/null || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q '^vm-bench: done' "$dir/vm.log"; then
		grep -E 'vm-bench|FAIL|Kernel panic' "$dir/vm.log" | tail -20 || true
		result fail "$abi: bench ran in the VM (vm.sh rc $rc, log $dir/vm.log)"
		return 0
	fi
	result ok "$abi: bench ran in the VM"
	md=$outdir/$s.md
	bench/bin/report "$dir" "$abi" "$s" "$load_before" | tee "$md"
	check "$abi: plot $outdir/$s-listing.png" plot "$abi" "$outdir/$s-listing.png" "$dir/sweep.dat"
	missing=$(cat "$dir/missing")
	check "$abi: every figure of $md measured${missing:+ (missing:$missing)}" test -z "$missing"
}

results_begin bench
test_programs && for_each_kernel bench_kernel
echo "bench: its $R_PASS steps that worked are not tests"
R_PASS=0 results_end
