#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vm-bench.sh: the part of `make bench` that runs inside the QEMU guest
# (busybox sh, as root). bench/bench.sh puts it at /bench/vm-bench.sh with
#   /bench/bpfbench   the timing and object-creating helper (bench/bpfbench.cpp)
#   /bench/ours.ko    this module, built for the guest's kernel
#   /bench/c.ko       the kernel's own kernel/bpf/preload module, same kernel
#   /bench/config     ROUNDS MAPS PROGS SWEEP REPS PROFILE (shell assignments)
#
# It prints machine-readable lines that bench.sh collects from the console:
#   BENCH <figure> <ours|c|bpftool> <round> <value>   (times in ns)
#   SWEEP <N> <ours|c|bpftool> <rep> <ns> <lines>
#   PROF <ours|c> <round> <function> <call> <ns>      (ftrace function_graph)
#   PROFFUNCS <function>...                           (functions traced)
#   NOTE <text>
# Both modules are named bpf_preload and both set bpf_preload_ops, so they
# are loaded one at a time: each round does, for each module in turn
# (alternating which goes first): insmod, mount bpffs, read maps.debug, read
# progs.debug, umount, rmmod; then bpftool map show and bpftool prog show.
# One unrecorded warm-up round comes first.
set -eu

# shellcheck source=/dev/null
. /bench/config
B=/bench/bpfbench
MNT=/sys/fs/bpf
PINS=/mnt/pins
T=/sys/kernel/tracing

die() { echo "vm-bench: FAIL: $*" >&2; exit 1; }

# t <what> <bpfbench args...>: run a timed operation, leave "ns bytes lines"
# in $1 $2 $3 of the caller via the variable `out`.
t() {
	_what=$1
	shift
	out=$($B "$@") || die "$_what: bpfbench $*"
}

ns() { echo "${out%% *}"; }
lines() { echo "${out##* }"; }

# One full cycle for module $1 (ours|c) in round $2.
cycle() {
	m=$1 r=$2
	t insmod insmod "/bench/$m.ko"
	echo "BENCH insmod $m $r $(ns)"
	echo "BENCH coresize $m $r $(cat /sys/module/bpf_preload/coresize)"
	t mount mount "$MNT"
	echo "BENCH mount $m $r $(ns)"
	t maps.debug read "$MNT/maps.debug"
	echo "BENCH maps_read $m $r $(ns)"
	echo "BENCH maps_lines $m $r $(lines)"
	t progs.debug read "$MNT/progs.debug"
	echo "BENCH progs_read $m $r $(ns)"
	echo "BENCH progs_lines $m $r $(lines)"
	t umount umount "$MNT"
	echo "BENCH umount $m $r $(ns)"
	t rmmod rmmod bpf_preload
	echo "BENCH rmmod $m $r $(ns)"
}

bpftool_round() {
	r=$1
	t "bpftool map show" exec bpftool map show
	echo "BENCH bpftool_map bpftool $r $(ns)"
	echo "BENCH bpftool_map_lines bpftool $r $(lines)"
	t "bpftool prog show" exec bpftool prog show
	echo "BENCH bpftool_prog bpftool $r $(ns)"
	echo "BENCH bpftool_prog_lines bpftool $r $(lines)"
}

# --- where insmod time goes: ftrace function_graph on chosen functions -------
# Kernel functions on the insmod path; those the running kernel cannot trace
# (inlined, renamed) are skipped and the rest reported in PROFFUNCS.
PROF_CANDIDATES="load_module module_sig_check layout_and_allocate
simplify_symbols apply_relocations post_relocation complete_formation
mod_sysfs_setup do_init_module do_one_initcall kern_sys_bpf
bpf_prog_test_run_syscall bpf_prog_load bpf_check bpf_int_jit_compile
bpf_prog_select_runtime bpf_btf_load btf_new_fd btf_parse map_create
map_update_elem map_freeze bpf_map_update_value bpf_iter_link_attach
bpf_link_settle close_fd"

prof_setup() {
	[ -w "$T/set_ftrace_filter" ] || { echo "NOTE no ftrace; profile skipped"; return 1; }
	grep -qw function_graph "$T/available_tracers" ||
		{ echo "NOTE no function_graph tracer; profile skipped"; return 1; }
	echo 0 >"$T/tracing_on"
	echo nop >"$T/current_tracer"
	: >"$T/set_ftrace_filter"
	prof_funcs=""
	for f in $PROF_CANDIDATES; do
		if echo "$f" >>"$T/set_ftrace_filter" 2>/dev/null; then
			prof_funcs="$prof_funcs $f"
		fi
	done
	echo "PROFFUNCS$prof_funcs"
	echo 16384 >"$T/buffer_size_kb"
	echo function_graph >"$T/current_tracer"
	echo 1 >"$T/options/funcgraph-tail" 2>/dev/null || true
	echo 0 >"$T/options/funcgraph-irqs" 2>/dev/null || true
	return 0
}

# Leaf lines "  12.345 us    |    name();" and closing lines
# "  12.345 us    |  } /* name */" carry a duration; emit one PROF line per
# call, numbered per function in call order.
prof_parse() {
	awk -v m="$1" -v r="$2" '
	/ us +\|/ {
		line = $0
		sub(/^ *[0-9]+\) */, "", line)    # cpu column
		sub(/^[-+!#*@$ ]+/, "", line)      # duration markers
		n = split(line, w, " ")
		if (n < 3 || w[2] != "us") next
		d = w[1]
		name = ""
		if (match(line, /\/\* [A-Za-z0-9_.]+ \*\//))
			name = substr(line, RSTART + 3, RLENGTH - 6)
		else if (match(line, /[A-Za-z0-9_.]+\(\);/))
			name = substr(line, RSTART, RLENGTH - 3)
		if (name == "") next
		c[name]++
		printf "PROF %s %s %s %d %.0f\n", m, r, name, c[name], d * 1000
	}' "$T/trace"
}

prof_cycle() {
	m=$1 r=$2
	: >"$T/trace"
	echo 1 >"$T/tracing_on"
	$B insmod "/bench/$m.ko" >/dev/null || die "traced insmod $m"
	echo 0 >"$T/tracing_on"
	prof_parse "$m" "$r"
	$B rmmod bpf_preload >/dev/null || die "traced rmmod $m"
}

prof_teardown() {
	echo nop >"$T/current_tracer"
	: >"$T/set_ftrace_filter"
	: >"$T/trace"
}

# --- one sweep point ----------------------------------------------------------
sweep_point() {
	n=$1
	for m in ours c; do
		t insmod insmod "/bench/$m.ko"
		t mount mount "$MNT"
		i=1
		while [ "$i" -le "$REPS" ]; do
			t progs.debug read "$MNT/progs.debug"
			echo "SWEEP $n $m $i $(ns) $(lines)"
			i=$((i + 1))
		done
		t umount umount "$MNT"
		t rmmod rmmod bpf_preload
	done
	i=1
	while [ "$i" -le "$REPS" ]; do
		t "bpftool prog show" exec bpftool prog show
		echo "SWEEP $n bpftool $i $(ns) $(lines)"
		i=$((i + 1))
	done
}

main_rounds() {
	# One unrecorded cycle of each module first: the first run of a code
	# path in a boot is slow under TCG (translation) and in the kernel.
	cycle ours 0 >/dev/null
	cycle c 0 >/dev/null
	bpftool_round 0 >/dev/null
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		if [ $((r % 2)) -eq 1 ]; then
			cycle ours "$r"
			cycle c "$r"
		else
			cycle c "$r"
			cycle ours "$r"
		fi
		bpftool_round "$r"
		r=$((r + 1))
	done
	if [ "$PROFILE" -gt 0 ] && prof_setup; then
		r=1
		while [ "$r" -le "$PROFILE" ]; do
			prof_cycle ours "$r"
			prof_cycle c "$r"
			r=$((r + 1))
		done
		prof_teardown
	fi
}

echo "NOTE kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs, TCG"
echo "NOTE config rounds=$ROUNDS maps=$MAPS progs=$PROGS sweep=$SWEEP reps=$REPS profile=$PROFILE"
mkdir -p "$PINS" "$MNT"
mount -t bpf bpf "$PINS" || die "mount bpffs at $PINS"
[ ! -d /sys/module/bpf_preload ] || die "bpf_preload already loaded"

t maps maps "$PINS" 0 "$MAPS"
echo "NOTE created and pinned $MAPS maps in $(($(ns) / 1000000)) ms"

# Programs grow through the sweep points; the main rounds run when exactly
# $PROGS programs are pinned.
have=0
points=$(for n in $SWEEP $PROGS; do echo "$n"; done | sort -n -u)
for n in $points; do
	t progs progs "$PINS" "$have" "$n"
	echo "NOTE created and pinned $((n - have)) programs in $(($(ns) / 1000000)) ms (total $n)"
	have=$n
	for s in $SWEEP; do
		if [ "$s" -eq "$n" ]; then sweep_point "$n"; fi
	done
	if [ "$n" -eq "$PROGS" ]; then main_rounds; fi
done

if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace' >/dev/null; then
	dmesg | grep -E -A5 'WARNING:|BUG:|Oops|Call Trace' | head -40
	die "kernel warnings during the bench"
fi
echo "vm-bench: done"
