#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--quick]   `make bench`: for each kernel of $SUITES, this module
# and the kernel's own C module (bench/cmodule.sh), one QEMU boot running
# bench/vm-bench.sh, and the report bench/results/<suite>-<series>.md with
# its plot <suite>-<series>-listing.png; logs in build/bench/<abi>/. Under
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

# --- the report for one kernel ---------------------------------------------------
# core_bytes KO: bytes of the sections the module loader keeps after init
# (SHF_ALLOC, minus .init* and the metadata it drops), before the page
# rounding that /sys/module/*/coresize shows.
core_bytes() {
	local name size flags total=0
	while read -r name _ _ _ size _ flags _; do
		[[ $flags != *A* || $name == @(.init*|__versions|.modinfo) ]] || total=$((total + 16#$size))
	done < <(readelf -SW "$1" | sed -nE 's/^ *\[ *[0-9]+\] //p')
	echo "$total"
}

# The tables of a report from vm-bench.sh's lines (round 0 is its warm-up);
# the sweep's figures (N, then median, min and max in ms of each listing) to
# the file dat for the plot, and the figures short of a value in a round (or
# sweep repetition) to the file missing. Times in ns, shown in ms.
read -r -d '' REPORT_TABLES <<'EOF' || true
($1 == "BENCH" && $4 > 0) || $1 == "SWEEP" {
	V[$2, $3] = V[$2, $3] " " $5
	R[$2, $3, $4] = $5
}
$1 == "PROF" {
	k = $2 " " $3
	traced[k] = $2
	sum[k, $4] += $6
	call[k, $4, $5] = $6
	calls[k, $4]++
}
$1 == "PROFFUNCS" { funcs = substr($0, 11) }
$1 == "NOTE" { notes = notes "- " substr($0, 6) "\n" }

# stat(list[, lower]): sets MED (of an even count the mean of the middle two,
# or the lower one), MIN and MAX of a list of numbers ("-": none); its count.
function stat(list, lower,   v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) {
		t = v[i]
		for (j = i; j > 1 && v[j - 1] + 0 > t + 0; j--)
			v[j] = v[j - 1]
		v[j] = t
	}
	MIN = n ? v[1] : "-"
	MAX = n ? v[n] : "-"
	MED = !n ? "-" : (n % 2 || lower) ? v[int((n + 1) / 2)] : (v[n / 2] + v[n / 2 + 1]) / 2 ""
	return n
}
# need(key, who, count[, prefix]): stat of V[key, who], noted as missing
# unless it holds count values.
function need(k, w, count, pre) {
	if (stat(V[k, w]) != count)
		missed = missed " " pre k "/" w
}
function ms(v) { return v == "-" ? "-" : sprintf("%.3f", v / 1e6) }
function ratio(a, b) { return (a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.2f", a / b) }
function span(in_ms) {
	return in_ms ? ms(MED) " (" ms(MIN) " - " ms(MAX) ")" : MED " (" MIN " - " MAX ")"
}
# The target and holds cells for ratio r: "op tx | yes", "- | -" without op.
function target(r, op, t,   h) {
	if (!op)
		return "- | -"
	h = r == "-" ? "-" : (op == "<=" ? r + 0 <= t + 0 : r + 0 >= t + 0) ? "yes" : "**no**"
	return op " " t "x | " h
}

# A row of the main table. "paired": the median over rounds of this module's
# value divided by the C module's of the same round (the two ran back to
# back, so slow phases of a shared host hit both).
function row(fig, label, in_ms, op, t,   a, am, amin, r, list) {
	need(fig, "ours", rounds)
	a = span(in_ms)
	am = MED
	amin = MIN
	for (r = 1; r <= rounds; r++)
		if (R[fig, "c", r] > 0 && ((fig, "ours", r) in R))
			list = list " " R[fig, "ours", r] / R[fig, "c", r]
	stat(list)
	list = MED == "-" ? "-" : sprintf("%.2f", MED)
	need(fig, "c", rounds)
	r = ratio(amin, MIN)
	print "| " label " | " a " | " span(in_ms) " | " ratio(am, MED) "x | " list "x | " r \
		"x | " target(r, op, t) " |"
}

# The traced insmod whose summed time in function f is the median (the
# lower one of an even count): "time calls".
function prof_median(who, f,   k, list) {
	for (k in traced)
		if (traced[k] == who && calls[k, f])
			list = list " " sum[k, f]
	if (stat(list, 1))
		for (k in traced)
			if (traced[k] == who && calls[k, f] && sum[k, f] == MED)
				return MED " " calls[k, f]
	return "- -"
}

# The steps of each traced insmod K, from the summed times of the traced
# functions (S) and the single calls of bpf_prog_load, bpf_check and
# bpf_int_jit_compile, numbered in completion order. Both modules load a
# BPF_PROG_TYPE_SYSCALL program first (#1) and the two iterators after it
# (#2, #3): in the C module #1 is the light skeleton's loader, whose run
# loads the others; in this module #1 looks up vmlinux BTF ids and the
# module loads the iterators itself.
function S(f) { return sum[K, f] }
function load(n) { return call[K, "bpf_prog_load", n] }
function verify(n) { return call[K, "bpf_check", n] }
function jit(n) { return call[K, "bpf_int_jit_compile", n] }
function step(label, v) {
	steps[++nsteps] = label
	D[nsteps, traced[K]] = D[nsteps, traced[K]] " " sprintf("%.0f", v)
}
function insmod_steps() {
	for (K in traced) {
		nsteps = 0
		step("module loader: checks, copy, layout, relocation, sysfs (load_module - do_init_module)",
			S("load_module") - S("do_init_module"))
		step("syscall program: verification (bpf_check #1)", verify(1))
		step("syscall program: JIT (bpf_int_jit_compile #1)", jit(1))
		step("syscall program: rest of its BPF_PROG_LOAD", load(1) - verify(1) - jit(1))
		step("BTF load (btf_new_fd)", S("btf_new_fd"))
		step("map creation: rodata map, the C module's loader data map (map_create)", S("map_create"))
		step("dump_bpf_map: verification (bpf_check #2)", verify(2))
		step("dump_bpf_map: JIT (#2)", jit(2))
		step("dump_bpf_prog: verification (bpf_check #3)", verify(3))
		step("dump_bpf_prog: JIT (#3)", jit(3))
		step("iterators: rest of their BPF_PROG_LOAD",
			load(2) + load(3) - verify(2) - jit(2) - verify(3) - jit(3))
		step("attach both iterators (bpf_iter_link_attach)", S("bpf_iter_link_attach"))
		step("close the fds of the load (close_fd)", S("close_fd"))
		step("rest of the module's init function (syscall program's run, map updates, module code)",
			S("do_one_initcall") - S("bpf_prog_load") - S("btf_new_fd") - S("map_create") - \
			S("bpf_iter_link_attach") - S("close_fd"))
		step("do_init_module after the init function", S("do_init_module") - S("do_one_initcall"))
		step("total traced (load_module)", S("load_module"))
	}
}

END {
	split("ours c bpftool", W, " ")
	row("insmod", "insmod (finit_module)", 1, "<=", "1.05")
	row("mount", "mount bpffs", 1)
	row("maps_read", "read maps.debug", 1, "<=", "1.05")
	row("progs_read", "read progs.debug", 1, "<=", "1.05")
	row("umount", "umount", 1)
	row("rmmod", "rmmod (delete_module)", 1)
	row("coresize", "/sys/module/bpf_preload/coresize (bytes, whole pages)", 0, "<=", "1.0")
	row("maps_lines", "maps.debug lines")
	row("progs_lines", "progs.debug lines")
	split(core, v, " ")
	r = ratio(v[1], v[2])
	print "| resident sections before page rounding (bytes, from the .ko) | " v[1] " | " v[2] \
		" | " r "x | - | - | " target(r, "<=", "1.0") " |"

	print "\nListing the same objects with bpftool (same rounds; ratio = bpftool / this module's file, higher is better):\n"
	print "| figure | median (min - max) | lines | vs this module | target | holds |"
	print "| --- | --- | --- | --- | --- | --- |"
	split("map prog", obj, " ")
	for (i = 1; i <= 2; i++) {
		need("bpftool_" obj[i] "_lines", "bpftool", rounds)
		lines = MED
		stat(V[obj[i] "s_read", "ours"])
		om = MED
		omin = MIN
		need("bpftool_" obj[i], "bpftool", rounds)
		r = ratio(MIN, omin)
		goal = i == 1 ? " | - | -" : " (minimums: " r "x) | " target(r, ">=", 5)
		print "| bpftool " obj[i] " show | " span(1) " | " lines " | " ratio(MED, om) \
			"x slower than " obj[i] "s.debug" goal " |"
	}

	print "\nSize of the .ko files (`size`, bytes):\n"
	print "| module | text | data | bss | dec |\n| --- | --- | --- | --- | --- |"
	split(size, v, " ")
	print "| this module | " v[1] " | " v[2] " | " v[3] " | " v[4] " |"
	print "| C module | " v[5] " | " v[6] " | " v[7] " | " v[8] " |"
	print "| ratio | " ratio(v[1], v[5]) "x | " ratio(v[2], v[6]) "x | " ratio(v[3], v[7]) \
		"x | " ratio(v[4], v[8]) "x |\n"

	if (funcs != "") {
		print "Where insmod time goes: ftrace function_graph on the functions below,"
		print profile " traced insmods per module after the timed rounds (tracing adds"
		print "overhead; times include nested calls, so rows overlap). Per function:"
		print "median over traced insmods of the summed time of its calls, in ms.\n"
		print "| function | calls (this / C) | this module | C module | ratio |\n| --- | --- | --- | --- | --- |"
		n = split(funcs, f, " ")
		for (i = 1; i <= n; i++) {
			split(prof_median("ours", f[i]), a, " ")
			split(prof_median("c", f[i]), c, " ")
			if (a[1] != "-" || c[1] != "-")
				print "| " f[i] " | " a[2] " / " c[2] " | " ms(a[1]) " | " ms(c[1]) " | " \
					ratio(a[1], c[1]) "x |"
		}
		insmod_steps()
		print "\nInsmod step by step: each step's median and minimum over the traced insmods, in ms"
		print "(call numbers in completion order: #1 is the syscall program, the light"
		print "skeleton's loader in the C module, the vmlinux BTF id lookup in this module;"
		print "#2 dump_bpf_map, #3 dump_bpf_prog; medians do not add up exactly):\n"
		print "| step | this module: median (min) | C module: median (min) | ratio | min |\n| --- | --- | --- | --- | --- |"
		for (i = 1; i <= nsteps; i++) {
			stat(D[i, "ours"])
			am = MED
			amin = MIN
			stat(D[i, "c"])
			print "| " steps[i] " | " ms(am) " (" ms(amin) ") | " ms(MED) " (" ms(MIN) \
				") | " ratio(am, MED) "x | " ratio(amin, MIN) "x |"
		}
		print ""
	}

	print "Listing N programs: median (min - max) of " reps " reads each, ms, and the"
	print "median per program (time / N):\n"
	print "| N | progs.debug, this module | progs.debug, C module | bpftool prog show | bpftool / this module |"
	print "| --- | --- | --- | --- | --- |"
	n = split(sweep, N, " ")
	for (i = 1; i <= n; i++) {
		line = "| " N[i]
		grow = "| " N[i - 1] " | " N[i]
		printf "%s", N[i] > dat
		for (j = 1; j <= 3; j++) {
			need(N[i], W[j], reps, "sweep-")
			per = MED == "-" ? "" : sprintf(", %.2f µs/prog", MED / N[i] / 1e3)
			line = line " | " (MED == "-" ? "-" : span(1) per)
			printf " %s %s %s", ms(MED), ms(MIN), ms(MAX) > dat
			med[j] = MED
			grow = grow sprintf(" | %.2f", (ms(MIN) - low[j]) * 1e3 / (N[i] - N[i - 1]))
			low[j] = ms(MIN)
		}
		print "" > dat
		print line " | " ratio(med[3], med[1]) "x |"
		if (i > 1)
			cost = cost grow " |\n"
	}
	print "\nCost per added program between sweep points, from the minimums (µs per"
	print "program; roughly equal rows mean linear in N):\n"
	print "| from N | to N | progs.debug, this module | progs.debug, C module | bpftool prog show |"
	print "| --- | --- | --- | --- | --- |"
	printf "%s\n![listing time against N](%s)\n\n%s", cost, png, notes

	for (j = 1; j <= 2; j++)
		if (profile > 0 && prof_median(W[j], "bpf_check") == "- -")
			missed = missed " profile/" W[j]
	printf "%s", missed > missing
}
EOF

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

report() { # report SERIES ABI DIR OURS_KO C_KO LOAD_BEFORE: DIR/vm.log's report
	cat <<-EOF
		# bpf_preload bench: Debian $2

		Measured $(date -u +%Y-%m-%d) by \`make bench\` in one boot of $2 under
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
		before the run, $(loadavg) after), its interference only ever adds time,
		and the minimum is the run it disturbed least; the medians and the paired
		ratio show how much it disturbed.

		| figure | this module: median (min - max) | C module: median (min - max) | ratio | paired | min | target | holds |
		| --- | --- | --- | --- | --- | --- | --- | --- |
	EOF
	awk -v rounds="$rounds" -v reps="$reps" -v profile="$profile" -v sweep="$sweep" \
		-v core="$(core_bytes "$4") $(core_bytes "$5")" -v png="$1-listing.png" \
		-v size="$(size "$4" "$5" | awk 'NR > 1 { print $1, $2, $3, $4 }')" \
		-v dat="$3/sweep.dat" -v missing="$3/missing" "$REPORT_TABLES" "$3/vm.log"
}

plot() { # plot ABI PNG DAT
	gnuplot <<-EOF || return
		set terminal pngcairo size 1100,450 font ",10"
		set output "$2"
		set multiplot layout 1,2 title "Listing N programs on $1 (QEMU TCG, shared host; line: minimum of $reps reads, bar: up to the median)"
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

# --- per kernel -------------------------------------------------------------------
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
	load_before=$(loadavg)
	VM_TIMEOUT=${BENCH_TIMEOUT:-3600} vm_boot "$dir" /bench/vm-bench.sh -- --mem 2G \
		>/dev/null || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q '^vm-bench: done' "$dir/vm.log"; then
		grep -E 'vm-bench|FAIL|Kernel panic' "$dir/vm.log" | tail -20 || true
		result fail "$abi: bench ran in the VM (vm.sh rc $rc, log $dir/vm.log)"
		return 0
	fi
	result ok "$abi: bench ran in the VM"
	md=$outdir/$s.md
	report "$s" "$abi" "$dir" "$dir/src/bpf_preload.ko" "$c_ko" "$load_before" | tee "$md"
	check "$abi: plot $outdir/$s-listing.png" plot "$abi" "$outdir/$s-listing.png" "$dir/sweep.dat"
	missing=$(cat "$dir/missing")
	check "$abi: every figure of $md measured${missing:+ (missing:$missing)}" test -z "$missing"
}

results_begin bench
test_programs && for_each_kernel bench_kernel
echo "bench: its $R_PASS steps that worked are not tests"
R_PASS=0 results_end
