#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--quick]   `make bench`: for each kernel of $SUITES, this module
# and the kernel's own C module (bench/cmodule.sh) built in the suite's chroot,
# one QEMU boot running bench/vm-bench.sh (the two modules alternately over
# the same pinned objects, bpftool on them, an ftrace profile of insmod, a
# listing sweep), and the report: bench/results/<suite>-<series>.md and
# <suite>-<series>-listing.png (gnuplot). Logs in build/bench/<abi>/. Under
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
cd "$TOP"

case "$*" in
"") quick=0 ;;
--quick) quick=1 ;;
*) echo "usage: $0 [--quick]   (kernels: SUITES)" >&2; exit 2 ;;
esac
if ((quick)); then
	rounds=${BENCH_ROUNDS:-2} maps=${BENCH_MAPS:-200} progs=${BENCH_PROGS:-100}
	sweep=${BENCH_SWEEP:-50 100 200} reps=${BENCH_REPS:-1} profile=${BENCH_PROFILE:-1}
	outdir=build/bench/quick
else
	rounds=${BENCH_ROUNDS:-61} maps=${BENCH_MAPS:-2000} progs=${BENCH_PROGS:-1000}
	sweep=${BENCH_SWEEP:-100 1000 5000 10000} reps=${BENCH_REPS:-7} profile=${BENCH_PROFILE:-15}
	outdir=bench/results
fi
ours_dir=${BENCH_OURS_DIR:-}
if [ -n "$ours_dir" ]; then
	ours_dir=$(cd "$ours_dir" && pwd)
	((quick)) || outdir=build/bench/variant
fi

scripts/deps.sh
if ! command -v gnuplot >/dev/null; then
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends gnuplot-nox >/dev/null
fi
test_programs
mkdir -p "$outdir"

# --- statistics -----------------------------------------------------------------
# summary: "median min max count" of the numbers on stdin ("- - - 0": none).
summary() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%s %s %s %d\n", m, v[1], v[NR], NR
		}'
}

# stats FILE TAG KEY WHO: summary of the 5th field of FILE's "TAG KEY WHO" lines.
stats() {
	awk -v t="$2" -v k="$3" -v w="$4" '$1 == t && $2 == k && $3 == w { print $5 }' "$1" | summary
}

# paired LOG FIGURE: median over rounds of this module's value divided by
# the C module's value of the same round (the two ran back to back, so
# slow phases of a shared host hit both).
paired() {
	awk -v f="$2" '$1 == "BENCH" && $2 == f && $3 == "ours" { a[$4] = $5 }
		$1 == "BENCH" && $2 == f && $3 == "c" { c[$4] = $5 }
		END { for (r in a) if ((r in c) && c[r] > 0) print a[r] / c[r] }' "$1" |
		summary | awk '{ print ($1 == "-") ? "-" : sprintf("%.2f", $1) }'
}

# prof_median LOG WHO FUNC: "time calls" of the traced insmod with the median
# summed time of FUNC's calls (the lower one of an even count).
prof_median() {
	awk -v w="$2" -v f="$3" '$1 == "PROF" && $2 == w && $4 == f { s[$3] += $6; c[$3]++ }
		END { for (r in s) print s[r], c[r] }' "$1" |
		sort -g | awk '{ v[NR] = $1 " " $2 } END { print NR ? v[int((NR + 1) / 2)] : "- -" }'
}

# prof_derive LOG: per traced insmod, the steps of the "step by step"
# table as lines "PROFD <step> <ours|c> <round> <ns>".
prof_derive() {
	awk '$1 == "PROF" {
		k = $2 " " $3
		rounds[k] = 1
		sum[k, $4] += $6
		call[k, $4, $5] = $6
	}
	END {
		for (k in rounds) {
			v["total"] = sum[k, "load_module"]
			v["modload"] = v["total"] - sum[k, "do_init_module"]
			v["after_init"] = sum[k, "do_init_module"] - sum[k, "do_one_initcall"]
			v["loader_verify"] = call[k, "bpf_check", 1]
			v["loader_jit"] = call[k, "bpf_int_jit_compile", 1]
			v["loader_other"] = call[k, "bpf_prog_load", 1] - v["loader_verify"] - v["loader_jit"]
			v["btf"] = sum[k, "btf_new_fd"]
			v["maps"] = sum[k, "map_create"]
			v["map_verify"] = call[k, "bpf_check", 2]
			v["map_jit"] = call[k, "bpf_int_jit_compile", 2]
			v["prog_verify"] = call[k, "bpf_check", 3]
			v["prog_jit"] = call[k, "bpf_int_jit_compile", 3]
			v["iters_other"] = call[k, "bpf_prog_load", 2] + call[k, "bpf_prog_load", 3] - \
				v["map_verify"] - v["map_jit"] - v["prog_verify"] - v["prog_jit"]
			v["attach"] = sum[k, "bpf_iter_link_attach"]
			v["closefd"] = sum[k, "close_fd"]
			v["init_rest"] = sum[k, "do_one_initcall"] - sum[k, "bpf_prog_load"] - v["btf"] - \
				v["maps"] - v["attach"] - v["closefd"]
			for (s in v)
				printf "PROFD %s %s %.0f\n", s, k, v[s]
		}
	}' "$1"
}

ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.3f", v / 1e6 }'; }
ratio() {
	awk -v a="$1" -v b="$2" \
		'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}
# holds RATIO <=|>= TARGET: yes, **no** or - (no ratio).
holds() {
	awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
		ok = (op == "<=") ? (r + 0 <= t + 0) : (r + 0 >= t + 0)
		print (r == "-") ? "-" : ok ? "yes" : "**no**"
	}'
}
# span UNIT MEDIAN MIN MAX: "median (min - max)", times (UNIT ms) from ns to ms.
span() {
	local unit=$1
	shift
	[ "$unit" != ms ] || set -- "$(ms "$1")" "$(ms "$2")" "$(ms "$3")"
	echo "$1 ($2 - $3)"
}

# missing_figures LOG: " figure/who" for each figure without a value in
# every round (sweep: every repetition); empty when complete.
missing_figures() {
	local log=$1 key f n
	for key in {insmod,mount,maps_read,progs_read,umount,rmmod,coresize}/{ours,c} \
		{maps,progs}_lines/{ours,c} bpftool_{map,prog}{,_lines}/bpftool; do
		read -r _ _ _ n < <(stats "$log" BENCH "${key%/*}" "${key#*/}")
		[ "$n" -eq "$rounds" ] || printf ' %s' "${key%/bpftool}"
	done
	for f in $sweep; do
		for key in ours c bpftool; do
			read -r _ _ _ n < <(stats "$log" SWEEP "$f" "$key")
			[ "$n" -eq "$reps" ] || printf ' sweep-%s/%s' "$f" "$key"
		done
	done
	for key in ours c; do
		[ "$profile" -eq 0 ] || grep -q "^PROF $key .* bpf_check " "$log" ||
			printf ' profile/%s' "$key"
	done
}

# core_bytes KO: bytes of the sections the module loader keeps after init
# (SHF_ALLOC, minus .init* and the metadata it drops), before the page
# rounding that /sys/module/*/coresize shows.
core_bytes() {
	local name size flags total=0
	while read -r name _ _ _ size _ flags _; do
		if [[ $flags == *A* && $name != .init* && $name != __versions && $name != .modinfo ]]
		then
			total=$((total + 16#$size))
		fi
	done < <(readelf -SW "$1" | sed -nE 's/^ *\[ *[0-9]+\] //p')
	echo "$total"
}

# --- the report for one kernel --------------------------------------------------
report() { # report SERIES ABI LOG OURS_KO C_KO LOAD_BEFORE
	local s=$1 abi=$2 log=$3 ours_ko=$4 c_ko=$5 fig label unit op target goal
	local am amin amax cm cmin cmax rmin bm bmin bmax bl om omin omax obj f n a c row load_after
	local -a ours_size c_size
	load_after=$(cut -d' ' -f1-3 /proc/loadavg)
	cat <<-EOF
		# bpf_preload bench: Debian $abi

		Measured $(date -u +%Y-%m-%d) by \`make bench\` in one boot of $abi under
		QEMU **TCG** (software emulation, no KVM: times are emulated, several
		times slower than hardware; compare the ratios, which come from the
		two modules measured alternately in the same boot).
		$rounds rounds; each round loads this module and the kernel's own C module
		(kernel/bpf/preload from Debian's linux-source package, built out of
		tree) one after the other, order alternating, with $maps maps and $progs
		programs pinned. Times in ms (median, min, max over the rounds).
		Ratio = this module / C module (lower is better): of the medians; "paired"
		is the median of the per-round ratios (the two modules ran back to back),
		"min" the ratio of the minimums. Targets are judged on the ratio of the
		minimums: the host is shared with other work (load average $6
		before the run, $load_after after), its interference only ever adds time,
		and the minimum is the run it disturbed least; the medians and the paired
		ratio show how much it disturbed.

		| figure | this module: median (min - max) | C module: median (min - max) | ratio | paired | min | target | holds |
		| --- | --- | --- | --- | --- | --- | --- | --- |
	EOF
	while IFS='|' read -r fig label unit op target; do
		read -r am amin amax _ < <(stats "$log" BENCH "$fig" ours)
		read -r cm cmin cmax _ < <(stats "$log" BENCH "$fig" c)
		rmin=$(ratio "$amin" "$cmin")
		goal="- | -"
		[ "$target" = - ] || goal="$op ${target}x | $(holds "$rmin" "$op" "$target")"
		echo "| $label | $(span "$unit" "$am" "$amin" "$amax") |" \
			"$(span "$unit" "$cm" "$cmin" "$cmax") | $(ratio "$am" "$cm")x |" \
			"$(paired "$log" "$fig")x | ${rmin}x | $goal |"
	done <<-'EOF'
		insmod|insmod (finit_module)|ms|<=|1.05
		mount|mount bpffs|ms|-|-
		maps_read|read maps.debug|ms|<=|1.05
		progs_read|read progs.debug|ms|<=|1.05
		umount|umount|ms|-|-
		rmmod|rmmod (delete_module)|ms|-|-
		coresize|/sys/module/bpf_preload/coresize (bytes, whole pages)|B|<=|1.0
		maps_lines|maps.debug lines|n|-|-
		progs_lines|progs.debug lines|n|-|-
	EOF
	a=$(core_bytes "$ours_ko") c=$(core_bytes "$c_ko")
	echo "| resident sections before page rounding (bytes, from the .ko) | $a | $c |" \
		"$(ratio "$a" "$c")x | - | - | <= 1.0x | $(holds "$(ratio "$a" "$c")" "<=" 1.0) |"
	echo
	echo "Listing the same objects with bpftool (same rounds; ratio = bpftool / this module's file, higher is better):"
	echo
	echo "| figure | median (min - max) | lines | vs this module | target | holds |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for obj in map prog; do
		read -r bm bmin bmax _ < <(stats "$log" BENCH "bpftool_$obj" bpftool)
		read -r bl _ < <(stats "$log" BENCH "bpftool_${obj}_lines" bpftool)
		read -r om omin _ < <(stats "$log" BENCH "${obj}s_read" ours)
		rmin=$(ratio "$bmin" "$omin")
		goal=" | - | -"
		[ "$obj" = map ] || goal=" (minimums: ${rmin}x) | >= 5x | $(holds "$rmin" ">=" 5)"
		echo "| bpftool $obj show | $(span ms "$bm" "$bmin" "$bmax") | $bl |" \
			"$(ratio "$bm" "$om")x slower than ${obj}s.debug$goal |"
	done
	echo
	echo "Size of the .ko files (\`size\`, bytes):"
	echo
	echo "| module | text | data | bss | dec |"
	echo "| --- | --- | --- | --- | --- |"
	read -ra ours_size < <(size "$ours_ko" | tail -1)
	read -ra c_size < <(size "$c_ko" | tail -1)
	printf '| this module | %s | %s | %s | %s |\n' "${ours_size[@]:0:4}"
	printf '| C module | %s | %s | %s | %s |\n' "${c_size[@]:0:4}"
	row="| ratio |"
	for n in 0 1 2 3; do row+=" $(ratio "${ours_size[n]}" "${c_size[n]}")x |"; done
	echo "$row"
	echo
	f=$(sed -n 's/^PROFFUNCS //p' "$log" | tail -1)
	[ -z "$f" ] || profile_tables "$log" "$f"
	echo "Listing N programs: median (min - max) of $reps reads each, ms, and the"
	echo "median per program (time / N):"
	echo
	echo "| N | progs.debug, this module | progs.debug, C module | bpftool prog show | bpftool / this module |"
	echo "| --- | --- | --- | --- | --- |"
	: >"$work/sweep.dat"
	for n in $sweep; do
		read -r om omin omax _ < <(stats "$log" SWEEP "$n" ours)
		read -r cm cmin cmax _ < <(stats "$log" SWEEP "$n" c)
		read -r bm bmin bmax _ < <(stats "$log" SWEEP "$n" bpftool)
		echo "| $n | $(sweep_cell "$n" "$om" "$omin" "$omax") | $(sweep_cell "$n" "$cm" "$cmin" "$cmax") |" \
			"$(sweep_cell "$n" "$bm" "$bmin" "$bmax") | $(ratio "$bm" "$om")x |"
		row=$n
		for f in "$om" "$omin" "$omax" "$cm" "$cmin" "$cmax" "$bm" "$bmin" "$bmax"; do
			row+=" $(ms "$f")"
		done
		echo "$row" >>"$work/sweep.dat"
	done
	cat <<-EOF

		Cost per added program between sweep points, from the minimums (µs per
		program; roughly equal rows mean linear in N):

		| from N | to N | progs.debug, this module | progs.debug, C module | bpftool prog show |
		| --- | --- | --- | --- | --- |
	EOF
	awk 'NR > 1 {
		d = $1 - n0
		printf "| %d | %d | %.2f | %.2f | %.2f |\n", n0, $1, ($3 - o0) * 1e3 / d, ($6 - c0) * 1e3 / d, ($9 - b0) * 1e3 / d
	}
	{ n0 = $1; o0 = $3; c0 = $6; b0 = $9 }' "$work/sweep.dat"
	echo
	echo "![listing time against N]($s-listing.png)"
	echo
	sed -n 's/^NOTE /- /p' "$log"
}

# sweep_cell N MEDIAN MIN MAX: "median (min - max), x µs/prog", in ms.
sweep_cell() {
	local per
	if [ "$2" = - ]; then echo -; return; fi
	per=$(awk -v n="$1" -v m="$2" 'BEGIN { printf "%.2f", m / n / 1e3 }')
	echo "$(span ms "$2" "$3" "$4"), $per µs/prog"
}

profile_tables() { # profile_tables LOG FUNCS
	local log=$1 f pa pc ka kc key label dm dc dmin cmin
	cat <<-EOF
		Where insmod time goes: ftrace function_graph on the functions below,
		$profile traced insmods per module after the timed rounds (tracing adds
		overhead; times include nested calls, so rows overlap). Per function:
		median over traced insmods of the summed time of its calls, in ms.

		| function | calls (this / C) | this module | C module | ratio |
		| --- | --- | --- | --- | --- |
	EOF
	for f in $2; do
		read -r pa ka < <(prof_median "$log" ours "$f")
		read -r pc kc < <(prof_median "$log" c "$f")
		[ "$pa" != "-" ] || [ "$pc" != "-" ] || continue
		echo "| $f | $ka / $kc | $(ms "$pa") | $(ms "$pc") | $(ratio "$pa" "$pc")x |"
	done
	cat <<-EOF

		Insmod step by step: each step's median and minimum over the traced insmods, in ms
		(call numbers in completion order: #1 is the skeleton's loader program,
		#2 dump_bpf_map, #3 dump_bpf_prog; medians do not add up exactly):

		| step | this module: median (min) | C module: median (min) | ratio | min |
		| --- | --- | --- | --- | --- |
	EOF
	prof_derive "$log" >"$work/profd"
	while IFS='|' read -r key label; do
		read -r dm dmin _ < <(stats "$work/profd" PROFD "$key" ours)
		read -r dc cmin _ < <(stats "$work/profd" PROFD "$key" c)
		echo "| $label | $(ms "$dm") ($(ms "$dmin")) | $(ms "$dc") ($(ms "$cmin")) |" \
			"$(ratio "$dm" "$dc")x | $(ratio "$dmin" "$cmin")x |"
	done <<-'EOF'
		modload|module loader: checks, copy, layout, relocation, sysfs (load_module - do_init_module)
		loader_verify|skeleton loader program: verification (bpf_check #1)
		loader_jit|skeleton loader program: JIT (bpf_int_jit_compile #1)
		loader_other|skeleton loader program: rest of its BPF_PROG_LOAD
		btf|BTF load (btf_new_fd)
		maps|map creation: loader data map, rodata map (map_create)
		map_verify|dump_bpf_map: verification (bpf_check #2)
		map_jit|dump_bpf_map: JIT (#2)
		prog_verify|dump_bpf_prog: verification (bpf_check #3)
		prog_jit|dump_bpf_prog: JIT (#3)
		iters_other|iterators: rest of their BPF_PROG_LOAD
		attach|attach both iterators (bpf_iter_link_attach)
		closefd|close the skeleton's fds (close_fd)
		init_rest|rest of the module's init function (loader run, map updates, module code)
		after_init|do_init_module after the init function
		total|total traced (load_module)
	EOF
	echo
}

plot() { # plot ABI PNG
	gnuplot <<-EOF || return
		set terminal pngcairo size 1100,450 font ",10"
		set output "$2"
		set multiplot layout 1,2 title "Listing N programs on $1 (QEMU TCG, shared host; line: minimum of $reps reads, bar: up to the median)"
		set key top left
		set grid
		set xlabel "N programs"
		set ylabel "time (ms)"
		set title "linear axes"
		plot "$work/sweep.dat" using 1:9:9:8 with yerrorlines lw 2 title "bpftool prog show", \
		     "$work/sweep.dat" using 1:3:3:2 with yerrorlines lw 2 title "progs.debug (this module)", \
		     "$work/sweep.dat" using 1:6:6:5 with yerrorlines lw 1 dt 2 title "progs.debug (C module)"
		set logscale xy
		set title "log-log (slope 1 = linear in N)"
		replot
		unset multiplot
	EOF
	[ -s "$2" ]
}

# --- per kernel -------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One kernel (after kernel_use): both modules built, one boot, the report.
bench_kernel() { # bench_kernel SUITE ABI
	local abi=$2 s dir c_ko md load_before missing rc=0
	s=$1-$(cut -d. -f1,2 <<<"$abi") # results by suite and series: trixie-6.12.md
	dir=build/bench/$abi
	((quick)) && dir=build/bench/quick/$abi
	rm -rf "$dir" && mkdir -p "$dir/src" "$dir/root/bench"
	# This module from the DKMS package's source list, built with plain kbuild.
	scripts/pkg/dkms-source.sh "$dir/src"
	if ! module_make "$dir/src" >"$dir/build.log" 2>&1; then
		cat "$dir/build.log"
		result fail "$abi: this module builds"
		return 0
	fi
	c_ko=$(c_module) || { result fail "$abi: the kernel's C module builds"; return 0; }
	result ok "$abi: both modules build"
	[ -z "$ours_dir" ] || cp "$ours_dir/$abi/bpf_preload.ko" "$dir/src/bpf_preload.ko"
	cp "$dir/src/bpf_preload.ko" "$dir/root/bench/ours.ko"
	cp "$c_ko" "$dir/root/bench/c.ko"
	cp bench/bin/bpfbench bench/vm-bench.sh "$dir/root/bench/"
	printf '%s\n' "ROUNDS=$rounds" "MAPS=$maps" "PROGS=$progs" "SWEEP=\"$sweep\"" "REPS=$reps" \
		"PROFILE=$profile" >"$dir/root/bench/config"
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	VM_TIMEOUT=${BENCH_TIMEOUT:-3600} vm_boot "$dir" /bench/vm-bench.sh -- --mem 2G >/dev/null ||
		rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q '^vm-bench: done' "$dir/vm.log"; then
		grep -E 'vm-bench|FAIL|Kernel panic' "$dir/vm.log" | tail -20 || true
		result fail "$abi: bench ran in the VM (vm.sh rc $rc, log $dir/vm.log)"
		return 0
	fi
	result ok "$abi: bench ran in the VM"
	md=$outdir/$s.md
	report "$s" "$abi" "$dir/vm.log" "$dir/src/bpf_preload.ko" "$c_ko" "$load_before" >"$md"
	check "$abi: plot $outdir/$s-listing.png" plot "$abi" "$outdir/$s-listing.png"
	cat "$md"
	missing=$(missing_figures "$dir/vm.log")
	if [ -z "$missing" ]; then
		result ok "$abi: every figure of $md measured"
	else
		result fail "$abi: every figure of $md measured (missing:$missing)"
	fi
}

# The bench's own steps are bookkeeping, not tests of the project: they
# are shown, and only a failure is recorded (a bench that does not run).
results_begin bench
for_each_kernel bench_kernel
echo "bench: $R_FAIL failed (its $R_PASS steps that worked are not tests)"
[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "0 $R_FAIL 0" >"$BPF_PRELOAD_RESULT"
[ "$R_FAIL" -eq 0 ]
