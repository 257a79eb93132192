#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vm-bench.sh: `make bench` in the QEMU guest (busybox sh, as root), from
# /bench (bench/bench.sh): bpfbench (bench/bpfbench.cpp), ours.ko, c.ko (the
# kernel's own C module), config (ROUNDS MAPS PROGS SWEEP REPS PROFILE).
# Both modules are named bpf_preload and set bpf_preload_ops, so they are
# loaded one at a time: each round cycles both (insmod, mount bpffs, read
# maps.debug and progs.debug, umount, rmmod; which goes first alternates),
# then runs bpftool map show and prog show. It prints, on the console:
#   BENCH <figure> <ours|c|bpftool> <round> <value>   (times in ns; round 0: warm-up)
#   SWEEP <N> <ours|c|bpftool> <rep> <ns> <lines>
#   PROF <ours|c> <round> <function> <call> <ns>      (ftrace function_graph)
#   PROFFUNCS <function>...                           (functions traced)
#   NOTE <text>
set -eu

# shellcheck source=/dev/null
. /bench/config
B=/bench/bpfbench
MNT=/sys/fs/bpf
T=/sys/kernel/tracing

die() { echo "vm-bench: FAIL: $*" >&2; exit 1; }

# run ARGS...: bpfbench ARGS, which prints "ns bytes lines"; sets ns, lines.
run() {
	out=$($B "$@") || die "bpfbench $*"
	ns=${out%% *} lines=${out##* }
}

timed() { # timed FIGURE ARGS...: run ARGS, print "BENCH FIGURE $m $r ns"
	fig=$1
	shift
	run "$@"
	echo "BENCH $fig $m $r $ns"
}

cycle() { # cycle ours|c|bpftool ROUND
	m=$1 r=$2
	if [ "$m" = bpftool ]; then
		for f in map prog; do
			timed "bpftool_$f" exec bpftool "$f" show
			echo "BENCH bpftool_${f}_lines $m $r $lines"
		done
		return
	fi
	timed insmod insmod "/bench/$m.ko"
	echo "BENCH coresize $m $r $(cat /sys/module/bpf_preload/coresize)"
	timed mount mount "$MNT"
	for f in maps progs; do
		timed "${f}_read" read "$MNT/$f.debug"
		echo "BENCH ${f}_lines $m $r $lines"
	done
	timed umount umount "$MNT"
	timed rmmod rmmod bpf_preload
}

# Where insmod time goes: ftrace function_graph on these functions of its
# path; those the running kernel cannot trace (inlined, renamed) are skipped.
prof_setup() {
	[ -w "$T/set_ftrace_filter" ] || { echo "NOTE no ftrace; profile skipped"; return 1; }
	grep -qw function_graph "$T/available_tracers" ||
		{ echo "NOTE no function_graph tracer; profile skipped"; return 1; }
	echo 0 >"$T/tracing_on"
	funcs=""
	for f in load_module module_sig_check layout_and_allocate simplify_symbols \
		apply_relocations post_relocation complete_formation mod_sysfs_setup do_init_module \
		do_one_initcall kern_sys_bpf bpf_prog_test_run_syscall bpf_prog_load bpf_check \
		bpf_int_jit_compile bpf_prog_select_runtime bpf_btf_load btf_new_fd btf_parse \
		map_create map_update_elem map_freeze bpf_map_update_value bpf_iter_link_attach \
		bpf_link_settle close_fd; do
		if echo "$f" >>"$T/set_ftrace_filter" 2>/dev/null; then funcs="$funcs $f"; fi
	done
	echo "PROFFUNCS$funcs"
	echo 16384 >"$T/buffer_size_kb"
	echo function_graph >"$T/current_tracer"
	echo 1 >"$T/options/funcgraph-tail" 2>/dev/null || true
	echo 0 >"$T/options/funcgraph-irqs" 2>/dev/null || true
}

# One traced insmod of $1 in round $2: leaf lines "  12.345 us | name();"
# and closing lines "  12.345 us | } /* name */" carry a duration; one PROF
# line per call, numbered per function in call order.
prof_cycle() {
	: >"$T/trace"
	echo 1 >"$T/tracing_on"
	$B insmod "/bench/$1.ko" >/dev/null || die "traced insmod $1"
	echo 0 >"$T/tracing_on"
	awk -v m="$1" -v r="$2" 'match($0, /[0-9.]+ us +\|/) {
		if ($NF == "*/")
			name = $(NF - 1)
		else if ($NF ~ /^[A-Za-z0-9_.]+\(\);$/)
			name = substr($NF, 1, length($NF) - 3)
		else
			next
		printf "PROF %s %s %s %d %.0f\n", m, r, name, ++c[name], substr($0, RSTART) * 1000
	}' "$T/trace"
	$B rmmod bpf_preload >/dev/null || die "traced rmmod $1"
}

sweep_reads() { # sweep_reads N ARGS...: REPS timed runs of ARGS, "SWEEP N $m rep ns lines"
	point=$1
	shift
	for i in $(seq "$REPS"); do
		run "$@"
		echo "SWEEP $point $m $i $ns $lines"
	done
}

sweep_point() { # sweep_point N
	for m in ours c; do
		run insmod "/bench/$m.ko"
		run mount "$MNT"
		sweep_reads "$1" read "$MNT/progs.debug"
		run umount "$MNT"
		run rmmod bpf_preload
	done
	m=bpftool
	sweep_reads "$1" exec bpftool prog show
}

main_rounds() {
	# The first run of a code path in a boot is slow under TCG (translation)
	# and in the kernel: round 0 is not recorded (bench/report.cpp skips it).
	for round in $(seq 0 "$ROUNDS"); do
		order="ours c"
		[ $((round % 2)) -eq 1 ] || order="c ours"
		for m in $order bpftool; do cycle "$m" "$round"; done
	done
	if [ "$PROFILE" -eq 0 ] || ! prof_setup; then return 0; fi
	for round in $(seq "$PROFILE"); do
		for m in ours c; do prof_cycle "$m" "$round"; done
	done
	echo nop >"$T/current_tracer" # no function traced in the sweep points after
}

echo "NOTE kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs, TCG"
echo "NOTE config rounds=$ROUNDS maps=$MAPS progs=$PROGS sweep=$SWEEP reps=$REPS profile=$PROFILE"
mkdir -p /mnt/pins "$MNT"
mount -t bpf bpf /mnt/pins || die "mount bpffs at /mnt/pins"
[ ! -d /sys/module/bpf_preload ] || die "bpf_preload already loaded"

run maps /mnt/pins 0 "$MAPS"
echo "NOTE created and pinned $MAPS maps in $((ns / 1000000)) ms"

# Programs grow through the sweep points; the main rounds run when exactly
# $PROGS programs are pinned.
have=0
for n in $(for p in $SWEEP $PROGS; do echo "$p"; done | sort -n -u); do
	run progs /mnt/pins "$have" "$n"
	echo "NOTE created and pinned $((n - have)) programs in $((ns / 1000000)) ms (total $n)"
	have=$n
	case " $SWEEP " in *" $n "*) sweep_point "$n" ;; esac
	if [ "$n" -eq "$PROGS" ]; then main_rounds; fi
done

oops=$(dmesg | grep -E -A5 'WARNING:|BUG:|Oops|Call Trace' | head -40)
[ -z "$oops" ] || die "kernel warnings during the bench: $oops"
echo "vm-bench: done"
