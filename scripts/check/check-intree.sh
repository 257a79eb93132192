#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-intree.sh (make check-intree) our sources as kernel/bpf/preload of Debian's
# linux-source-6.12, built in (=y) and as a module (=m), checked on the host and
# booted under QEMU with the suites (README.md, "make check-intree"). Work area:
# build/intree/<variant>/.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
results_begin intree

# No warning line names "preload" or a symbol our objects define (objtool on
# vmlinux.o names functions, not files); those that do, indented.
no_our_warnings() { # no_our_warnings LOG OBJDIR
	local lines found
	lines=$(grep -iE 'warn|error' "$1" | grep -vE '^ +[A-Z0-9_]+ +(\[M\] +)?[^ ]+$') || return 0
	found=$({
		grep -i preload <<<"$lines"
		nm --defined-only "$2"/bpf_preload_{glue,loader,kern}.o 2>/dev/null |
			awk 'NF == 3 && length($3) > 4 { print $3 }' | grep -wF -f - <(echo "$lines")
	} | sort -u | sed 's/^/    /')
	[ -z "$found" ] || { echo "$found"; return 1; }
}

# System.map's initcall entries as "<function> <level> <suffix>" (functions
# with one entry). <level> by address: the last __initcall<N>_start marker at
# or below it (early -1, rootfs 5.5; an empty level's marker equals the
# next's). <suffix> ends the entry's name (__initcall__kmod_<mod>__<n>_<line>_
# <fn><suffix>: 7 for late_initcall, 7s for late_initcall_sync).
initcall_levels() {
	awk '
		$3 ~ /^__initcall([0-7]|rootfs)?_start$/ {
			c = substr($3, 11, 1)
			maddr[++nm] = $1; mlvl[nm] = c == "_" ? -1 : c == "r" ? 5.5 : c + 0; next
		}
		$3 == "__initcall_end" { end = $1; next }
		$3 ~ /^__initcall__kmod_/ {
			n = $3; sub(/^__initcall__kmod_.*__[0-9]+_[0-9]+_/, "", n)
			suffix = n; sub(/([0-7]s?|rootfs|early)$/, "", n)
			suffix = substr(suffix, length(n) + 1)
			ne++; eaddr[ne] = $1; ename[ne] = n; esuffix[ne] = suffix; count[n]++
		}
		END {
			for (e = 1; e <= ne; e++) {
				if (count[ename[e]] != 1 || (eaddr[e] "") >= (end "")) continue
				l = ""
				for (m = 1; m <= nm; m++) if ((maddr[m] "") <= (eaddr[e] "")) l = mlvl[m]
				if (l != "") print ename[e], l, esuffix[e]
			}
		}' "$1"
}

# The guest's "INITCALL <fn>" lines (call order): no level 0-6 initcall after FN.
check_initcall_order() { # check_initcall_order VMLOG MAP FN
	awk -v fn="$3" '
		FNR == NR { level[$1] = $2; next }
		$1 == "INITCALL" {
			i++; name[i] = $2
			if ($2 == fn) { ours = i; seen++ }
		}
		END {
			if (seen != 1) { printf "%s called %d times in the log\n", fn, seen; exit 1 }
			for (k = 1; k <= i; k++) {
				if (!(name[k] in level) || k == ours) continue
				l = level[name[k]]
				if (k > ours && l < 7) { printf "%s (level %s) ran after %s\n", name[k], l, fn; bad = 1 }
				if (k < ours && l == 7) before7++
				if (k > ours && l == 7) after7++
			}
			printf "%s is initcall %d of %d logged; %d level-7 initcalls before it, %d after\n", fn, ours, i, before7, after7
			exit bad
		}' <(initcall_levels "$2") "$1"
}

compiled() { # compiled LOG: both our objects compiled by this run's make
	grep -Eq '^ +CXX .*kernel/bpf/preload/bpf_preload_kern\.o$' "$1" &&
		grep -Eq '^ +CC .*kernel/bpf/preload/bpf_preload_glue\.o$' "$1"
}

objtool_ran() { # objtool_ran VARIANT OBJDIR: over the C++ object; prints where
	if grep -q objtool "$2/.bpf_preload_kern.o.cmd" 2>/dev/null; then
		echo "objtool ran on bpf_preload_kern.o"
	elif [ "$1" = builtin ] && grep -q objtool "$K_KDIR/.vmlinux.o.cmd" 2>/dev/null &&
		nm "$K_KDIR/vmlinux.o" | grep ' T bpf_preload_fill$' >/dev/null; then
		echo "objtool ran on vmlinux.o, which links bpf_preload_kern.o"
	elif [ "$1" = module ] && grep -q objtool "$2/.bpf_preload.o.cmd" 2>/dev/null; then
		echo "objtool ran on the linked module bpf_preload.o"
	else
		return 1
	fi
}

late_initcall() { # late_initcall SYSTEM_MAP
	local lvl
	lvl=$(initcall_levels "$1" | awk '$1 == "bpf_preload_module_init" { print $2, $3 }')
	echo "bpf_preload_module_init: initcall level and suffix: ${lvl:-none}"
	[ "$lvl" = "7 7" ]
}

no_module_file() { # no_module_file INITRD
	local list
	list=$(gzip -dc "$1" | cpio -it --quiet) || return
	! grep -E '\.ko(\.|$)' <<<"$list"
}

ours() { # ours KO: the tree's module is ours
	[ -f "$1" ] &&
		[ "$(modinfo -F description "$1")" = "bpffs maps.debug and progs.debug, in freestanding C++" ] &&
		nm "$1" | grep ' _ZN' >/dev/null &&
		echo "$1: ours, vermagic $(modinfo -F vermagic "$1" | cut -d' ' -f1)"
}

check_variant() {
	local v=$1 dir=build/intree/$1
	rm -rf "$dir" && mkdir -p "$dir/root"
	echo "intree: $v: building Debian's kernel with our kernel/bpf/preload (cached; first build is long)"
	kernel_build "$v" "$dir" --config scripts/kconfig/vm.config --config "scripts/kconfig/preload-$v.config" \
		--prepare scripts/pkg/intree-install.sh --rebuild kernel/bpf/preload || return 0
	local objdir=$K_KDIR/kernel/bpf/preload
	check "$v: bpf_preload_kern.o (g++) and bpf_preload_glue.o compiled in this build (log $K_LOG)" \
		compiled "$K_LOG"
	# The kernel's own, for the record (a tiny config makes e.g.
	# resolve_btfids warn about BTF ids of code that is not built).
	echo "intree: $v: the warning lines of the whole build log:"
	grep -i warn "$K_LOG" | sed 's/^/    /' || true
	check "$v: zero warnings in our files" no_our_warnings "$K_LOG" "$objdir"
	check "$v: objtool ran over the C++ object" objtool_ran "$v" "$objdir"

	if [ "$v" = module ]; then
		local ko=$K_MODDIR/kernel/kernel/bpf/preload/bpf_preload.ko
		check "module: the tree's bpf_preload.ko is ours (description, C++ symbols)" ours "$ko"
		cp "$ko" "$dir/root/bpf_preload.ko" || true
		vm_suite module "$dir" "/tests/run.sh check" -- --timeout 1200
		return 0
	fi
	check "builtin: System.map: bpf_preload_module_init's initcall entry is a level-7 (late_initcall) one, in the level-7 range" \
		late_initcall "$K_MAP"
	# The boot's initcall_debug log first: the suites drain the kernel log.
	VM_RUNS=2 vm_suite builtin "$dir" \
		"dmesg | sed -n 's/.*calling  *\([A-Za-z0-9_.]*\)+0x.*/INITCALL \1/p'" \
		"/tests/builtin.sh check" "BPF_PRELOAD_BUILTIN=1 /tests/run.sh check" \
		-- --timeout 1200 --append "initcall_debug log_buf_len=4M"
	check "builtin: the initramfs holds no module file" no_module_file "$dir/initrd.cpio.gz"
	check "builtin: boot log: no level 0-6 initcall after bpf_preload_module_init" \
		check_initcall_order "$dir/vm.log" "$K_MAP" bpf_preload_module_init
}

test_programs || results_end
check_variant builtin
check_variant module
results_end
