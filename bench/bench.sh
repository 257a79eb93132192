#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--quick]
#
# `make bench`: for each kernel of $SUITES (scripts/lib/host.sh) build this
# module and the kernel's own C module in the suite's chroot
# (bench/cmodule.sh, from the suite's linux-source package, cached outside git),
# boot the kernel once under QEMU and run bench/vm-bench.sh there: 2,000 maps
# and 1,000 programs pinned, then rounds alternating the two modules (insmod,
# mount, read maps.debug and progs.debug, umount, rmmod) and bpftool map/prog
# show on the same objects; an ftrace profile of insmod; and a sweep listing
# N = 100 .. 10,000 programs with progs.debug and with bpftool prog show.
#
# Writes per kernel a table (median, min, max, ratio this module / C module)
# to the terminal and to bench/results/<suite>-<series>.md, and the sweep plot
# bench/results/<suite>-<series>-listing.png (gnuplot). Logs: build/bench/<abi>/.
#
# --quick (`make check-bench`): 2 rounds, few objects, small N; results go to
# build/bench/quick/ and the committed results stay untouched. It checks that
# the bench runs and that every figure of the table was measured, and records
# "0 <failed> 0" in $BPF_PRELOAD_RESULT when set (its steps are not tests of
# the module). Timings are never checked: they are reported.
#
# Environment overrides: BENCH_ROUNDS, BENCH_MAPS, BENCH_PROGS, BENCH_SWEEP
# ("100 1000 ..."), BENCH_REPS, BENCH_PROFILE (traced insmods per module),
# BENCH_TIMEOUT (seconds per VM), BENCH_OURS_DIR (below).
#
# The guest runs under QEMU TCG (no KVM here): every time is emulated time,
# useful for ratios measured side by side, not as absolute numbers.
set -euo pipefail

# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../scripts/lib/host.sh"
cd "$TOP"

quick=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	*) echo "usage: $0 [--quick]   (kernels: SUITES)" >&2; exit 2 ;;
	esac
done

if ((quick)); then
	rounds=${BENCH_ROUNDS:-2} maps=${BENCH_MAPS:-200} progs=${BENCH_PROGS:-100}
	sweep=${BENCH_SWEEP:-50 100 200} reps=${BENCH_REPS:-1} profile=${BENCH_PROFILE:-1}
	outdir=build/bench/quick
else
	rounds=${BENCH_ROUNDS:-61} maps=${BENCH_MAPS:-2000} progs=${BENCH_PROGS:-1000}
	sweep=${BENCH_SWEEP:-100 1000 5000 10000} reps=${BENCH_REPS:-7} profile=${BENCH_PROFILE:-15}
	outdir=bench/results
fi
# BENCH_OURS_DIR=<dir>: measure <dir>/<abi>/bpf_preload.ko (e.g. a patched
# build of this module) instead of building the working tree; results then go
# to build/bench/variant/ and the committed ones stay untouched.
ours_dir=${BENCH_OURS_DIR:-}
if [ -n "$ours_dir" ]; then
	ours_dir=$(cd "$ours_dir" && pwd)
	((quick)) || outdir=build/bench/variant
fi
timeout_s=${BENCH_TIMEOUT:-3600}

# The bench's own steps are bookkeeping, not tests of the project: they
# are shown, and only a failure is recorded (a bench that does not run).
results_begin bench
finish() {
	echo "bench: $R_FAIL failed (its $R_PASS steps that worked are not tests)"
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "0 $R_FAIL 0" >"$BPF_PRELOAD_RESULT"
	[ "$R_FAIL" -eq 0 ]
}

# --- dependencies -------------------------------------------------------------
scripts/deps.sh
need=()
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
command -v size >/dev/null 2>&1 || need+=(binutils)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
if ((${#need[@]})); then
	echo "bench: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -qq &&
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
test_programs
mkdir -p "$outdir"

# --- statistics ------------------------------------------------------------------
# stats <file> <tag> <figure> <who>: "median min max count" of the values of
# lines "<tag> <figure> <who> <round> <value>" (BENCH) in <file>.
stats() {
	awk -v f="$3" -v w="$4" -v tag="$2" '$1 == tag && $2 == f && $3 == w { print $5 }' "$1" |
		sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%s %s %s %d\n", m, v[1], v[NR], NR
		}'
}

# paired <file> <figure>: median over rounds of this module's value divided
# by the C module's value of the same round (the two ran back to back, so
# slow phases of a shared host hit both).
paired() {
	awk -v f="$2" '$1 == "BENCH" && $2 == f && $3 == "ours" { a[$4] = $5 }
		$1 == "BENCH" && $2 == f && $3 == "c" { c[$4] = $5 }
		END { for (r in a) if ((r in c) && c[r] > 0) print a[r] / c[r] }' "$1" |
		sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.2f\n", m
		}'
}

# sweep_stats <log> <N> <who>: "median min max" (ns) of the sweep reads.
sweep_stats() {
	awk -v n="$2" -v w="$3" '$1 == "SWEEP" && $2 == n && $3 == w { print $5 }' "$1" |
		sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]
		}'
}

# Profile: median over traced rounds of the sum of all calls of a function.
prof_median() {
	awk -v f="$3" -v w="$2" '$1 == "PROF" && $2 == w && $4 == f { s[$3] += $6; c[$3]++ }
		END { for (r in s) print s[r], c[r] }' "$1" |
		sort -g | awk '{ v[NR] = $1; k[NR] = $2 }
		END {
			if (NR == 0) { print "- -"; exit }
			i = int((NR + 1) / 2)
			print v[i], k[i]
		}'
}

# prof_derive <log>: per traced insmod, the steps of the "step by step"
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
			split(k, a, " ")
			lm = sum[k, "load_module"]; dim = sum[k, "do_init_module"]
			doc = sum[k, "do_one_initcall"]
			v["modload"] = lm - dim
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
			v["init_rest"] = doc - sum[k, "bpf_prog_load"] - v["btf"] - v["maps"] - v["attach"] - v["closefd"]
			v["after_init"] = dim - doc
			v["total"] = lm
			for (s in v)
				printf "PROFD %s %s %s %.0f\n", s, a[1], a[2], v[s]
		}
	}' "$1"
}

# sweep_cell <N> <median> <min> <max>: "m (min - max), x µs/prog".
sweep_cell() {
	awk -v n="$1" -v m="$2" -v lo="$3" -v hi="$4" 'BEGIN {
		if (m == "-") { print "-"; exit }
		printf "%.3f (%.3f - %.3f), %.2f µs/prog", m / 1e6, lo / 1e6, hi / 1e6, m / n / 1e3
	}'
}

ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.3f", v / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# holds <ratio> <op> <target>: "yes" or "no" (<= or >=).
holds() {
	awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (r == "-") { print "-"; exit }
		ok = (op == "<=") ? (r + 0 <= t + 0) : (r + 0 >= t + 0)
		print ok ? "yes" : "**no**"
	}'
}

# missing_figures <log>: the figures without a value for every round (or
# every sweep repetition), as " figure/who" words; empty when complete.
missing_figures() {
	local log=$1 f w n
	for f in insmod mount maps_read progs_read umount rmmod coresize maps_lines progs_lines; do
		for w in ours c; do
			read -r _ _ _ n < <(stats "$log" BENCH "$f" "$w")
			[ "$n" -eq "$rounds" ] || printf ' %s/%s' "$f" "$w"
		done
	done
	for f in bpftool_map bpftool_prog bpftool_map_lines bpftool_prog_lines; do
		read -r _ _ _ n < <(stats "$log" BENCH "$f" bpftool)
		[ "$n" -eq "$rounds" ] || printf ' %s' "$f"
	done
	for f in $sweep; do
		for w in ours c bpftool; do
			n=$(awk -v n="$f" -v w="$w" '$1 == "SWEEP" && $2 == n && $3 == w' "$log" | wc -l)
			[ "$n" -eq "$reps" ] || printf ' sweep-%s/%s' "$f" "$w"
		done
	done
	if [ "$profile" -gt 0 ]; then
		for w in ours c; do
			grep -q "^PROF $w .* bpf_check " "$log" || printf ' profile/%s' "$w"
		done
	fi
}

# core_bytes <ko>: bytes of the sections the module loader keeps after init
# (SHF_ALLOC, minus .init* and the metadata it drops), before the page
# rounding that /sys/module/*/coresize shows.
core_bytes() {
	readelf -SW "$1" | sed -nE 's/^ *\[ *[0-9]+\] //p' | awk '
	function hex(s,   i, v, c) {
		v = 0
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
			v = v * 16 + c
		}
		return v
	}
	$1 !~ /^\.init/ && $1 != "__versions" && $1 != ".modinfo" && $7 ~ /A/ { t += hex($5) }
	END { print t + 0 }'
}

# --- the report for one kernel --------------------------------------------------
report() {
	local s=$1 abi=$2 log=$3 ours_ko=$4 c_ko=$5 md=$6 load_before=$7 load_after=$8
	local fig label unit target op a c r p pr
	{
		echo "# bpf_preload bench: Debian $abi"
		echo
		echo "Measured $(date -u +%Y-%m-%d) by \`make bench\` in one boot of $abi under"
		echo "QEMU **TCG** (software emulation, no KVM: times are emulated, several"
		echo "times slower than hardware; compare the ratios, which come from the"
		echo "two modules measured alternately in the same boot)."
		echo "$rounds rounds; each round loads this module and the kernel's own C module"
		echo "(kernel/bpf/preload from Debian's linux-source package, built out of"
		echo "tree) one after the other, order alternating, with $maps maps and $progs"
		echo "programs pinned. Times in ms (median, min, max over the rounds)."
		echo "Ratio = this module / C module (lower is better): of the medians; \"paired\""
		echo "is the median of the per-round ratios (the two modules ran back to back),"
		echo "\"min\" the ratio of the minimums. Targets are judged on the ratio of the"
		echo "minimums: the host is shared with other work (load average $load_before"
		echo "before the run, $load_after after), its interference only ever adds time,"
		echo "and the minimum is the run it disturbed least; the medians and the paired"
		echo "ratio show how much it disturbed."
		echo
		echo "| figure | this module: median (min - max) | C module: median (min - max) | ratio | paired | min | target | holds |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
		while IFS='|' read -r fig label unit op target; do
			read -r am amin amax _ < <(stats "$log" BENCH "$fig" ours)
			read -r cm cmin cmax _ < <(stats "$log" BENCH "$fig" c)
			r=$(ratio "$am" "$cm")
			p=$(paired "$log" "$fig")
			pr="${p}x | $(ratio "$amin" "$cmin")x"
			if [ "$unit" = ms ]; then
				a="$(ms "$am") ($(ms "$amin") - $(ms "$amax"))"
				c="$(ms "$cm") ($(ms "$cmin") - $(ms "$cmax"))"
			else
				a="$am ($amin - $amax)"
				c="$cm ($cmin - $cmax)"
			fi
			if [ "$target" = "-" ]; then
				echo "| $label | $a | $c | ${r}x | $pr | - | - |"
			else
				echo "| $label | $a | $c | ${r}x | $pr | ${op} ${target}x | $(holds "$(ratio "$amin" "$cmin")" "$op" "$target") |"
			fi
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
		local ca cc
		ca=$(core_bytes "$ours_ko") cc=$(core_bytes "$c_ko")
		r=$(ratio "$ca" "$cc")
		echo "| resident sections before page rounding (bytes, from the .ko) | $ca | $cc | ${r}x | - | - | <= 1.0x | $(holds "$r" "<=" 1.0) |"
		echo
		echo "Listing the same objects with bpftool (same rounds; ratio = bpftool / this module's file, higher is better):"
		echo
		echo "| figure | median (min - max) | lines | vs this module | target | holds |"
		echo "| --- | --- | --- | --- | --- | --- |"
		local bm bmin bmax bl om omin
		read -r bm bmin bmax _ < <(stats "$log" BENCH bpftool_map bpftool)
		read -r bl _ < <(stats "$log" BENCH bpftool_map_lines bpftool)
		read -r om _ < <(stats "$log" BENCH maps_read ours)
		echo "| bpftool map show | $(ms "$bm") ($(ms "$bmin") - $(ms "$bmax")) | $bl | $(ratio "$bm" "$om")x slower than maps.debug | - | - |"
		read -r bm bmin bmax _ < <(stats "$log" BENCH bpftool_prog bpftool)
		read -r bl _ < <(stats "$log" BENCH bpftool_prog_lines bpftool)
		read -r om omin _ < <(stats "$log" BENCH progs_read ours)
		r=$(ratio "$bm" "$om")
		echo "| bpftool prog show | $(ms "$bm") ($(ms "$bmin") - $(ms "$bmax")) | $bl | ${r}x slower than progs.debug (minimums: $(ratio "$bmin" "$omin")x) | >= 5x | $(holds "$(ratio "$bmin" "$omin")" ">=" 5) |"
		echo
		echo "Size of the .ko files (\`size\`, bytes):"
		echo
		echo "| module | text | data | bss | dec |"
		echo "| --- | --- | --- | --- | --- |"
		local st sd sb sdec ct cd cb cdec
		read -r st sd sb sdec _ < <(size "$ours_ko" | tail -1)
		read -r ct cd cb cdec _ < <(size "$c_ko" | tail -1)
		echo "| this module | $st | $sd | $sb | $sdec |"
		echo "| C module | $ct | $cd | $cb | $cdec |"
		echo "| ratio | $(ratio "$st" "$ct")x | $(ratio "$sd" "$cd")x | $(ratio "$sb" "$cb")x | $(ratio "$sdec" "$cdec")x |"
		echo
		local funcs
		funcs=$(sed -n 's/^PROFFUNCS //p' "$log" | tail -1)
		if [ -n "$funcs" ]; then
			echo "Where insmod time goes: ftrace function_graph on the functions below,"
			echo "$profile traced insmods per module after the timed rounds (tracing adds"
			echo "overhead; times include nested calls, so rows overlap). Per function:"
			echo "median over traced insmods of the summed time of its calls, in ms."
			echo
			echo "| function | calls (this / C) | this module | C module | ratio |"
			echo "| --- | --- | --- | --- | --- |"
			local f pa pc ka kc
			for f in $funcs; do
				read -r pa ka < <(prof_median "$log" ours "$f")
				read -r pc kc < <(prof_median "$log" c "$f")
				[ "$pa" != "-" ] || [ "$pc" != "-" ] || continue
				echo "| $f | $ka / $kc | $(ms "$pa") | $(ms "$pc") | $(ratio "$pa" "$pc")x |"
			done
			echo
			echo "Insmod step by step: each step's median and minimum over the traced insmods, in ms"
			echo "(call numbers in completion order: #1 is the skeleton's loader program,"
			echo "#2 dump_bpf_map, #3 dump_bpf_prog; medians do not add up exactly):"
			echo
			echo "| step | this module: median (min) | C module: median (min) | ratio | min |"
			echo "| --- | --- | --- | --- | --- |"
			prof_derive "$log" >"$work/profd"
			local key label dm dc dmin cmin
			while IFS='|' read -r key label; do
				read -r dm dmin _ < <(stats "$work/profd" PROFD "$key" ours)
				read -r dc cmin _ < <(stats "$work/profd" PROFD "$key" c)
				echo "| $label | $(ms "$dm") ($(ms "$dmin")) | $(ms "$dc") ($(ms "$cmin")) | $(ratio "$dm" "$dc")x | $(ratio "$dmin" "$cmin")x |"
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
		fi
		echo "Listing N programs: median (min - max) of $reps reads each, ms, and the"
		echo "median per program (time / N):"
		echo
		echo "| N | progs.debug, this module | progs.debug, C module | bpftool prog show | bpftool / this module |"
		echo "| --- | --- | --- | --- | --- |"
		local n om omin omax cm cmin cmax bm bmin bmax
		: >"$work/sweep.dat"
		for n in $sweep; do
			read -r om omin omax < <(sweep_stats "$log" "$n" ours)
			read -r cm cmin cmax < <(sweep_stats "$log" "$n" c)
			read -r bm bmin bmax < <(sweep_stats "$log" "$n" bpftool)
			echo "| $n | $(sweep_cell "$n" "$om" "$omin" "$omax") | $(sweep_cell "$n" "$cm" "$cmin" "$cmax") | $(sweep_cell "$n" "$bm" "$bmin" "$bmax") | $(ratio "$bm" "$om")x |"
			echo "$n $(ms "$om") $(ms "$omin") $(ms "$omax") $(ms "$cm") $(ms "$cmin") $(ms "$cmax") $(ms "$bm") $(ms "$bmin") $(ms "$bmax")" >>"$work/sweep.dat"
		done
		echo
		echo "Cost per added program between sweep points, from the minimums (µs per"
		echo "program; roughly equal rows mean linear in N):"
		echo
		echo "| from N | to N | progs.debug, this module | progs.debug, C module | bpftool prog show |"
		echo "| --- | --- | --- | --- | --- |"
		awk 'NR > 1 {
			d = $1 - n0
			printf "| %d | %d | %.2f | %.2f | %.2f |\n", n0, $1, ($3 - o0) * 1e3 / d, ($6 - c0) * 1e3 / d, ($9 - b0) * 1e3 / d
		}
		{ n0 = $1; o0 = $3; c0 = $6; b0 = $9 }' "$work/sweep.dat"
		echo
		echo "![listing time against N]($s-listing.png)"
		echo
		sed -n 's/^NOTE /- /p' "$log"
	} >"$md"
}

plot() {
	local s=$1 abi=$2 png=$3
	gnuplot <<-EOF
		set terminal pngcairo size 1100,450 font ",10"
		set output "$png"
		set multiplot layout 1,2 title "Listing N programs on $abi (QEMU TCG, shared host; line: minimum of $reps reads, bar: up to the median)"
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
}

# --- per kernel -------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One kernel (after kernel_use): both modules built, one boot, the report.
bench_kernel() { # bench_kernel SUITE ABI
	local suite=$1 abi=$2 s dir c_ko vm_rc md missing load_before load_after
	# Results are named by suite and kernel series: trixie-6.12.md.
	s=$suite-$(cut -d. -f1,2 <<<"$abi")
	dir=build/bench/$abi
	((quick)) && dir=build/bench/quick/$abi
	rm -rf "$dir" && mkdir -p "$dir/src" "$dir/root/bench"

	# This module, from the working tree: the source list of the DKMS
	# package, built with plain kbuild in the suite's chroot.
	scripts/pkg/dkms-source.sh "$dir/src"
	if ! in_build_env make -C "$dir/src" KDIR="$K_KDIR" >"$dir/build.log" 2>&1; then
		cat "$dir/build.log"; result fail "$abi: this module builds"; return 0
	fi
	if ! c_ko=$(c_module); then
		result fail "$abi: the kernel's C module builds"; return 0
	fi
	result ok "$abi: both modules build"

	if [ -n "$ours_dir" ]; then
		cp "$ours_dir/$abi/bpf_preload.ko" "$dir/src/bpf_preload.ko"
	fi
	cp "$dir/src/bpf_preload.ko" "$dir/root/bench/ours.ko"
	cp "$c_ko" "$dir/root/bench/c.ko"
	cp bench/bin/bpfbench bench/vm-bench.sh "$dir/root/bench/"
	cat >"$dir/root/bench/config" <<-EOF
		ROUNDS=$rounds
		MAPS=$maps
		PROGS=$progs
		SWEEP="$sweep"
		REPS=$reps
		PROFILE=$profile
	EOF
	printf '#!/bin/sh\nexec /bench/vm-bench.sh\n' >"$dir/root/run-in-vm"
	chmod +x "$dir/root/run-in-vm"
	scripts/vm/mkinitramfs.sh --out "$dir/initrd.cpio.gz" --root "$dir/root" --kver "$abi" 2>/dev/null
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	vm_rc=0
	scripts/vm/vm.sh --kernel "$K_VMLINUZ" --initrd "$dir/initrd.cpio.gz" --mem 2G \
		--timeout "$timeout_s" --log "$dir/vm.log" >/dev/null || vm_rc=$?
	if [ "$vm_rc" -ne 0 ] || ! grep -q '^vm-bench: done' "$dir/vm.log"; then
		grep -E 'vm-bench|FAIL|Kernel panic' "$dir/vm.log" | tail -20 || true
		result fail "$abi: bench ran in the VM (vm.sh rc $vm_rc, log $dir/vm.log)"
		return 0
	fi
	result ok "$abi: bench ran in the VM"

	md=$outdir/$s.md
	load_after=$(cut -d' ' -f1-3 /proc/loadavg)
	report "$s" "$abi" "$dir/vm.log" "$dir/src/bpf_preload.ko" "$c_ko" "$md" \
		"$load_before" "$load_after"
	if plot "$s" "$abi" "$outdir/$s-listing.png" && [ -s "$outdir/$s-listing.png" ]; then
		result ok "$abi: plot $outdir/$s-listing.png"
	else
		result fail "$abi: plot $outdir/$s-listing.png"
	fi
	cat "$md"
	# Every figure measured, for both modules, in every round.
	missing=$(missing_figures "$dir/vm.log")
	if [ -z "$missing" ]; then
		result ok "$abi: every figure of $md measured"
	else
		result fail "$abi: every figure of $md measured (missing:$missing)"
	fi
}

for_each_kernel bench_kernel

finish
