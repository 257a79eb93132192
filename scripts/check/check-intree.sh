#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# intree-check.sh [builtin] [module]      (default: both)
#
# Our sources as the kernel's own kernel/bpf/preload (scripts/pkg/intree-install.sh)
# in Debian's linux-source-6.12, built by scripts/kernel/kernel-build.sh from
# scripts/kconfig/vm.config plus
#   builtin  preload-builtin.config: CONFIG_BPF_PRELOAD_UMD=y, into vmlinux
#   module   preload-module.config:  CONFIG_BPF_PRELOAD_UMD=m, bpf_preload.ko
# and booted under QEMU (scripts/vm/vm.sh). Checks, per variant:
#   - the kernel builds; our two objects are compiled in this run and no
#     warning of the build names our files or symbols; objtool covered the
#     C++ object (per object, on vmlinux.o or on the linked module);
#   - builtin: System.map has our initcall in the late_initcall (level 7)
#     section; the initramfs holds no module file at all; in the VM
#     tests/builtin.sh (boot-time loading, initcall_debug log, init's fds,
#     every mount) and `BPF_PRELOAD_BUILTIN=1 tests/run.sh check` (the suite
#     without the module load/unload tests, which it reports as skipped);
#     from the guest's initcall_debug log: every initcall of levels 0-6 ran
#     before ours and none after it;
#   - module: the in-tree bpf_preload.ko is ours (modinfo, C++ symbols) and
#     passes the normal suite, `tests/run.sh check`, as /bpf_preload.ko.
# Host checks count one each, plus the in-VM KTAP totals. Records
# "<passed> <failed>" in $BPF_PRELOAD_RESULT if set; ends with
# "N passed, N failed" and the skip count. Work area: build/intree/<variant>/.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
variants=("$@")
((${#variants[@]})) || variants=(builtin module)
for v in "${variants[@]}"; do
	case $v in builtin | module) ;; *) echo "usage: $0 [builtin] [module]" >&2; exit 2 ;; esac
done

passed=0 failed=0 skipped=0
result() { # result ok|fail <description>
	if [ "$1" = ok ]; then
		passed=$((passed + 1)); echo "intree: ok - $2"
	else
		failed=$((failed + 1)); echo "intree: FAIL - $2"
	fi
}
finish() {
	echo "intree: $passed passed, $failed failed, $skipped skipped (in-VM tests reported as SKIP)"
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$passed $failed" >"$BPF_PRELOAD_RESULT"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

make -C tests >/dev/null

# Warnings of this build that concern us: lines naming kernel/bpf/preload or
# bpf_preload, or any symbol our two objects define (objtool on vmlinux.o
# names functions, not files).
our_warnings() {
	local log=$1 objdir=$2 syms
	syms=$(mktemp)
	nm --defined-only "$objdir/bpf_preload_glue.o" "$objdir/bpf_preload_kern.o" 2>/dev/null |
		awk 'NF == 3 && length($3) > 4 { print $3 }' | sort -u >"$syms"
	{ grep -iE 'warn|error' "$log" || true; } |
		{ grep -v -E '^ +[A-Z0-9_]+ +(\[M\] +)?[^ ]+$' || true; } >"$syms.lines"
	{ grep -iE 'preload' "$syms.lines" || true; grep -wF -f "$syms" "$syms.lines" || true; } | sort -u
	rm -f "$syms" "$syms.lines"
}

# Every initcall entry of System.map as "<function> <level> <suffix>", for
# functions with exactly one entry. <level> comes from the entry's address:
# the section between two __initcall<N>_start markers (early -1, rootfs 5.5;
# markers of empty levels coincide with the next one, so the last marker at
# or below the address wins). <suffix> is the level in the entry's name
# (__initcall__kmod_<mod>__<n>_<line>_<fn><suffix>: 7 for late_initcall, 7s
# for late_initcall_sync).
initcall_levels() {
	awk '
		function lvl(name) {
			if (name == "__initcall_start") return -1
			if (name == "__initcallrootfs_start") return 5.5
			return substr(name, 11, 1) + 0
		}
		$3 ~ /^__initcall([0-7]|rootfs)?_start$/ { nm++; maddr[nm] = $1; mlvl[nm] = lvl($3); next }
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

# From the guest's "INITCALL <fn>" lines (call order): ours must come after
# every initcall of levels 0-6 and before none of them.
check_initcall_order() {
	local vmlog=$1 map=$2 fn=$3
	awk -v fn="$fn" '
		FNR == NR { level[$1] = $2; next }
		$1 == "INITCALL" {
			i++; name[i] = $2
			if ($2 == fn) { ours = i; seen++ }
		}
		END {
			if (seen != 1) { printf "%s called %d times in the log\n", fn, seen; exit 1 }
			bad = 0; before7 = 0; after7 = 0
			for (k = 1; k <= i; k++) {
				if (!(name[k] in level) || k == ours) continue
				l = level[name[k]]
				if (k > ours && l < 7) { printf "%s (level %s) ran after %s\n", name[k], l, fn; bad = 1 }
				if (k < ours && l == 7) before7++
				if (k > ours && l == 7) after7++
			}
			printf "%s is initcall %d of %d logged; %d level-7 initcalls before it, %d after\n", fn, ours, i, before7, after7
			exit bad
		}' <(initcall_levels "$map") "$vmlog"
}

check_variant() {
	local variant=$1 frag dir=build/intree/$1
	case $variant in
	builtin) frag=scripts/kconfig/preload-builtin.config ;;
	module) frag=scripts/kconfig/preload-module.config ;;
	esac
	rm -rf "$dir" && mkdir -p "$dir"

	echo "intree: $variant: building Debian's kernel with our kernel/bpf/preload (cached; first build is long)"
	local build_rc=0
	scripts/kernel/kernel-build.sh --config scripts/kconfig/vm.config --config "$frag" \
		--prepare scripts/pkg/intree-install.sh --rebuild kernel/bpf/preload \
		>"$dir/kernel.env" 2>"$dir/kernel-build.err" || build_rc=$?
	grep -E '^(kernel-build|intree-install)\.sh:' "$dir/kernel-build.err" || true
	if [ "$build_rc" -ne 0 ]; then
		tail -n 30 "$dir/kernel-build.err"
		result fail "$variant: kernel builds"
		return
	fi
	local srcver kbuild bzimage system_map kver moddir log seconds full_build_seconds k v
	while IFS='=' read -r k v; do
		case $k in
		srcver | kbuild | bzimage | system_map | kver | moddir | log | seconds | full_build_seconds)
			printf -v "$k" '%s' "$v" ;;
		esac
	done <"$dir/kernel.env"
	result ok "$variant: linux-source $srcver builds ($kver; this run ${seconds}s, first full build ${full_build_seconds}s)"

	local objdir=$kbuild/kernel/bpf/preload
	if grep -Eq '^ +CXX .*kernel/bpf/preload/bpf_preload_kern\.o$' "$log" &&
		grep -Eq '^ +CC .*kernel/bpf/preload/bpf_preload_glue\.o$' "$log"; then
		result ok "$variant: bpf_preload_kern.o (g++) and bpf_preload_glue.o compiled in this build"
	else
		result fail "$variant: bpf_preload_kern.o and bpf_preload_glue.o compiled in this build (log: $log)"
	fi
	our_warnings "$log" "$objdir" >"$dir/our-warnings"
	# The kernel's own, for the record (a tiny config can make e.g.
	# resolve_btfids warn about BTF ids of code that is not built).
	grep -iE 'warn' "$log" >"$dir/all-warnings" || true
	echo "intree: $variant: $(wc -l <"$dir/all-warnings") warning line(s) in the whole build log:"
	sed 's/^/    /' "$dir/all-warnings"
	if [ -s "$dir/our-warnings" ]; then
		sed 's/^/    /' "$dir/our-warnings"
		result fail "$variant: zero warnings in our files"
	else
		result ok "$variant: zero warnings in our files"
	fi

	local how=""
	if grep -q objtool "$objdir/.bpf_preload_kern.o.cmd" 2>/dev/null; then
		how="on bpf_preload_kern.o"
	elif [ "$variant" = builtin ] && grep -q objtool "$kbuild/.vmlinux.o.cmd" 2>/dev/null &&
		nm "$kbuild/vmlinux.o" | grep ' T bpf_preload_fill$' >/dev/null; then
		how="on vmlinux.o, which links bpf_preload_kern.o"
	elif [ "$variant" = module ] && grep -q objtool "$objdir/.bpf_preload.o.cmd" 2>/dev/null; then
		how="on the linked module bpf_preload.o"
	fi
	if [ -n "$how" ]; then
		result ok "$variant: objtool ran $how"
	else
		result fail "$variant: objtool ran over the C++ object"
	fi

	local root=$dir/root append="" expect_totals=1
	mkdir -p "$root/tests"
	cp -r tests/run.sh tests/builtin.sh tests/lib tests/bin "$root/tests/"
	if [ "$variant" = builtin ]; then
		local lvl
		lvl=$(initcall_levels "$system_map" | awk '$1 == "bpf_preload_module_init" { print $2, $3 }')
		if [ "$lvl" = "7 7" ]; then
			result ok "builtin: System.map: bpf_preload_module_init's initcall entry is a level-7 (late_initcall) one, in the level-7 range"
		else
			result fail "builtin: System.map: bpf_preload_module_init's initcall entry at level 7 (found level and suffix: ${lvl:-none})"
		fi
		cat >"$root/run-in-vm" <<-'EOF'
			#!/bin/sh
			rc=0
			/tests/builtin.sh check || rc=1
			BPF_PRELOAD_BUILTIN=1 /tests/run.sh check || rc=1
			dmesg | sed -n 's/.*calling  *\([A-Za-z0-9_.]*\)+0x.*/INITCALL \1/p'
			exit $rc
		EOF
		append="initcall_debug log_buf_len=4M"
		expect_totals=2
		scripts/vm/mkinitramfs.sh --out "$dir/initrd.cpio.gz" --root "$root" >/dev/null
	else
		local ko=$moddir/kernel/kernel/bpf/preload/bpf_preload.ko
		if [ -f "$ko" ] &&
			[ "$(modinfo -F description "$ko")" = "bpffs maps.debug and progs.debug, in freestanding C++" ] &&
			nm "$ko" | grep ' _ZN' >/dev/null; then
			result ok "module: the tree's bpf_preload.ko is ours (description, C++ symbols), vermagic $(modinfo -F vermagic "$ko" | cut -d' ' -f1)"
		else
			result fail "module: the tree's bpf_preload.ko ($ko) is ours"
		fi
		cp "$ko" "$root/bpf_preload.ko"
		printf '#!/bin/sh\nexec /tests/run.sh check\n' >"$root/run-in-vm"
		scripts/vm/mkinitramfs.sh --out "$dir/initrd.cpio.gz" --root "$root" --kver "$kver" >/dev/null
	fi
	chmod +x "$root/run-in-vm"
	local kos
	kos=$(gzip -dc "$dir/initrd.cpio.gz" | cpio -it --quiet | grep -E '\.ko(\.|$)' || true)
	if [ "$variant" = builtin ]; then
		if [ -z "$kos" ]; then
			result ok "builtin: the initramfs holds no module file"
		else
			result fail "builtin: the initramfs holds no module file (has: $kos)"
		fi
	fi

	local vm_rc=0
	scripts/vm/vm.sh --kernel "$bzimage" --initrd "$dir/initrd.cpio.gz" --timeout 1200 \
		--log "$dir/vm.log" --append "$append" || vm_rc=$?
	local totals n=0 p f s
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .*skip:\([0-9]*\).*/\1 \2 \3/p' "$dir/vm.log")
	while read -r p f s; do
		[ -n "$p" ] || continue
		n=$((n + 1))
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		echo "intree: $variant: in the VM: $p passed, $f failed, $s skipped"
	done <<<"$totals"
	if [ "$n" -ne "$expect_totals" ]; then
		result fail "$variant: all $expect_totals in-VM suite(s) ran to completion (vm.sh rc $vm_rc)"
	elif [ "$vm_rc" -ne 0 ] && ! grep -q '^not ok' "$dir/vm.log"; then
		result fail "$variant: VM exit status $vm_rc"
	fi

	if [ "$variant" = builtin ]; then
		if check_initcall_order "$dir/vm.log" "$system_map" bpf_preload_module_init >"$dir/initcall-order"; then
			result ok "builtin: boot log: $(tail -n 1 "$dir/initcall-order"); no level 0-6 initcall after it"
		else
			sed 's/^/    /' "$dir/initcall-order"
			result fail "builtin: boot log: bpf_preload_module_init ran in the late_initcall phase"
		fi
	fi
}

for v in "${variants[@]}"; do
	check_variant "$v"
done
finish
