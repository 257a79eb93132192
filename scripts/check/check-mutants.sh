#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-mutants.sh   (make check-mutants) the checks can fail: each mutant
#                    (scripts/check/mutants.tsv) is a deliberate bug in the module, the BPF
#                    program or the packaging, applied alone to a scratch
#                    copy of the tree; the check(s) named for it must FAIL,
#                    naming the test(s) that caught it. A mutant whose
#                    checks all pass survived: a failure of check-mutants.
# check-mutants.sh --list      the mutants, one per line
# check-mutants.sh --dry-run   apply every mutant (and regenerate the
#                              skeletons of the BPF ones), run no check
#
# Scratch copies live in build/mutants/: base/ (the tracked files of this
# tree, `git ls-files`, and the test programs built once), control/ (base
# unmutated: every check used must PASS there first, or a kill proves
# nothing) and <name>/ (tree/, the copy with the mutant; <check>.log, the
# check's output; killers, what caught it). The working tree is never
# edited. Each check runs in its scratch tree as `make -C tree <check>`.
#
# An edit is a list of sed expressions on one file; each expression must
# change the file by itself, else the mutant fails loudly ("did not
# apply"), never counting as killed. A mutant of iterators/iterators.bpf.c
# regenerates the little-endian skeletons (`make -C iterators`; the checks
# boot amd64 kernels) and requires at least one of them to change. A
# module mutant that only stops the build is not a kill (its edit tests the
# compiler, not the suite); mutants marked "build" (a packaging bug that
# DKMS must refuse) may be killed by the build.
#
# Environment:
#   MUTANTS_SUITES=bookworm   the kernels (SUITES of each check): bookworm's
#                             6.1 and 6.12
#   MUTANTS=a,b               only these mutants (and the controls they use)
#   MUTANTS_ROBUST_APPEND     ROBUST_APPEND of check-robust (control and
#                             mutants alike): shorter churn and race
#   VM_TIMEOUT=300            per guest boot of check-vm
# Prints "mutants: ok - NAME killed by: ..." or "mutants: FAIL - NAME
# survived"; records "killed failed 0" in $BPF_PRELOAD_RESULT and writes
# the table of the run to build/mutants/table.md.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
cd "$TOP"

suites=${MUTANTS_SUITES:-bookworm}
robust_append=${MUTANTS_ROBUST_APPEND:-ROBUST_CHURN=20 ROBUST_CHURN_MOUNTED=5 ROBUST_RACE_LOADS=10 ROBUST_RACE_OBJECTS=200}
export VM_TIMEOUT=${VM_TIMEOUT:-300}
work=$TOP/build/mutants

# --- the mutants (scripts/check/mutants.tsv) --------------------------------

M_NAMES=()
declare -A M_FILE M_CHECKS M_WHAT M_SED M_BUILD
B=iterators/iterators.bpf.c
while IFS=$'\t' read -r name build file checks what sed; do
	case $name in '#'* | '') continue ;; esac
	M_NAMES+=("$name")
	M_FILE[$name]=$file M_CHECKS[$name]=$checks M_WHAT[$name]=$what M_SED[$name]=$sed M_BUILD[$name]=$build
done <"$TOP/scripts/check/mutants.tsv"

# --- helpers ---------------------------------------------------------------------

log() { echo "mutants: $*"; }

# A scratch tree: the tracked files of this tree (as they are now).
copy_tracked() { # copy_tracked DEST
	local f files=()
	rm -rf "$1" && mkdir -p "$1"
	while IFS= read -r -d '' f; do
		# A tracked file deleted in the working tree is not copied.
		[ ! -e "$TOP/$f" ] || files+=("$f")
	done < <(git -C "$TOP" ls-files -z)
	((${#files[@]})) || { echo "no tracked files in $TOP" >&2; return 1; }
	tar -C "$TOP" -c -- "${files[@]}" | tar -x -C "$1"
}

# A copy of base (tests/bin built there once; cp -a keeps it up to date).
tree_from_base() { # tree_from_base DEST
	rm -rf "$1" && mkdir -p "$(dirname "$1")"
	cp -a "$work/base/tree" "$1"
}

# The little-endian skeletons of TREE, regenerated from its iterators.bpf.c.
LE_SKELS=(iterators.lskel-little-endian.h iterators_nocount.lskel-little-endian.h)
regen_skeletons() { # regen_skeletons TREE LOG
	rm -rf "$1/iterators/.output"
	make --no-print-directory -C "$1/iterators" "${LE_SKELS[@]/#/./}" >"$2" 2>&1
}

same_skeletons() { # same_skeletons TREE: its little-endian skeletons are base's
	local s
	for s in "${LE_SKELS[@]}"; do
		cmp "$1/iterators/$s" "$work/base/tree/iterators/$s" || return 1
	done
}

# apply NAME TREE: the mutant's edit, each expression checked to apply.
apply() {
	local name=$1 tree=$2 f=$2/${M_FILE[$1]} e
	local -a exprs sed_args=()
	mapfile -t exprs <<<"${M_SED[$name]}"
	[ -f "$f" ] || { echo "no file ${M_FILE[$name]}"; return 1; }
	for e in "${exprs[@]}"; do
		if sed -e "$e" "$f" | cmp -s - "$f"; then
			echo "the edit did not apply: sed -e '$e' leaves ${M_FILE[$name]} unchanged"
			return 1
		fi
		sed_args+=(-e "$e")
	done
	cp "$f" "$f.orig"
	sed -i "${sed_args[@]}" "$f"
	diff -u --label "a/${M_FILE[$name]}" --label "b/${M_FILE[$name]}" "$f.orig" "$f" || true
	rm "$f.orig"
	if [ "${M_FILE[$name]}" = "$B" ]; then
		regen_skeletons "$tree" "$work/$name/skeletons.log" ||
			{ cat "$work/$name/skeletons.log"; echo "regenerating the skeletons failed"; return 1; }
		local s changed=()
		for s in "${LE_SKELS[@]}"; do
			cmp -s "$tree/iterators/$s" "$work/base/tree/iterators/$s" || changed+=("$s")
		done
		((${#changed[@]})) || { echo "the edit changed no skeleton"; return 1; }
		echo "regenerated, changed: ${changed[*]}"
	fi
}

# run_check TREE CHECK LOG RESULT: the check in the scratch tree, alone
# (no make variables of ours leak in); its exit status.
run_check() {
	local tree=$1 check=$2 out=$3 res=$4 t=$SECONDS rc=0
	rm -f "$res"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL BPF_PRELOAD_RESULT="$res" SUITES="$suites" \
		ROBUST_APPEND="$robust_append" \
		make --no-print-directory -C "$tree" "$check" SUITES="$suites" >"$out" 2>&1 || rc=$?
	# The initramfs images are big and rebuilt anyway.
	find "$tree/build" -name '*.cpio.gz' -delete 2>/dev/null || true
	echo "$check: exit status $rc, recorded '$(cat "$res" 2>/dev/null)' ($((SECONDS - t)) s, log ${out#"$TOP"/})"
	return "$rc"
}

# killers TREE OUTPUT: what failed, one line each: the host checks' FAIL
# lines, then per guest log (build/.../vm.log, named by its directory) the
# KTAP "not ok" lines, a plan mismatch, a guest that died (after which
# test, and the kernel's first oops line).
killers() {
	local tree=$1 out=$2 vmlog where
	local line
	sed -n 's/^[a-z0-9-]*: FAIL - /FAIL - /p' "$out" | while IFS= read -r line; do
		# Paths relative to the scratch tree.
		printf '%s\n' "${line//"$tree"\//}"
	done
	while IFS= read -r vmlog; do
		where=${vmlog#"$tree"/build/}
		where=${where%/vm.log}
		tr -d '\r' <"$vmlog" | awk -v w="$where" '
			/^1\.\.[0-9]+$/ { inplan = 1; last = ""; next }
			inplan && /^(not )?ok [0-9]+ / { last = $0 }
			inplan && /^not ok [0-9]+ / { print w ": " $0 }
			/^# plan mismatch/ { print w ": " $0 }
			inplan && /^# Totals: / { inplan = 0 }
			!oops && /(Kernel panic|BUG: |Oops|general protection fault)/ { oops = $0 }
			END {
				if (inplan) print w ": the guest died after \"" (last == "" ? "the plan" : last) "\"" \
					(oops == "" ? "" : ": " oops)
			}'
	done < <(find "$tree/build" -name vm.log 2>/dev/null | sort)
}

# compact KILLERS: one item per test, with the kernel series it failed on
# ("check-vm: not ok 4 maps.debug header ... [6.1, 6.12]"); a host FAIL line
# once for all kernels, ABI standing for the kernel's release.
compact() {
	awk '
		function add(key, txt, series) {
			if (!(key in text)) { order[++n] = key; text[key] = txt }
			if (series != "" && index(" " kern[key] ",", " " series ",") == 0)
				kern[key] = kern[key] (kern[key] == "" ? "" : ", ") series
		}
		{
			check = $1; sub(/:$/, "", check)
			rest = substr($0, length($1) + 2)
			if (rest ~ /^FAIL - /) {
				# The same host check on each kernel: one line, ABI for the kernel.
				series = ""
				if (match(rest, /[0-9]+\.[0-9]+\.[0-9]+[-+][^ \/:,]*/)) {
					abi = substr(rest, RSTART, RLENGTH)
					match(abi, /^[0-9]+\.[0-9]+/); series = substr(abi, 1, RLENGTH)
					while ((i = index(rest, abi)) > 0)
						rest = substr(rest, 1, i - 1) "ABI" substr(rest, i + length(abi))
				}
				add(check SUBSEP rest, check ": " rest, series)
				next
			}
			where = rest; sub(/: .*/, "", where)
			what = substr(rest, length(where) + 3)
			series = ""; label = where
			if (match(where, /[0-9]+\.[0-9]+\.[0-9]+[-+][^\/]*/)) {
				abi = substr(where, RSTART, RLENGTH)
				match(abi, /^[0-9]+\.[0-9]+/); series = substr(abi, 1, RLENGTH)
				i = index(label, abi)
				label = substr(label, 1, i - 1) substr(label, i + length(abi))
			}
			# run.sh names the variant and kernel in one description.
			sub(/ the (plain|count) format of kernel [^ ]+$/, " the kernel'"'"'s format", what)
			sub(/.*\//, "", label); sub(/^vm-?/, "", label)
			key = what
			if (what ~ /^not ok [0-9]+ /) { split(what, w, " "); key = "not ok " w[3] }
			if (what ~ /^the guest died/) {
				gsub(/\[ *[0-9.]+\] /, "", what); sub(/ for address: .*/, "", what)
				key = what
			}
			add(check SUBSEP label SUBSEP key, check ": " (label == "" ? "" : "(" label ") ") what, series)
		}
		END { for (i = 1; i <= n; i++) print text[order[i]] (kern[order[i]] == "" ? "" : " [" kern[order[i]] "]") }' "$1"
}

# Only a failed build among the killers?
only_build_failed() { # only_build_failed KILLERS
	! grep -qvE '^[a-z-]+: FAIL - .*(dkms build|builds|zero warnings|initramfs)' "$1"
}

md_cell() { sed 's/|/\\|/g'; }

# --- main ------------------------------------------------------------------

case ${1:-} in
--list)
	for n in "${M_NAMES[@]}"; do printf '%-20s %-28s %-14s %s\n' "$n" "${M_FILE[$n]}" "${M_CHECKS[$n]}" "${M_WHAT[$n]}"; done
	exit 0
	;;
--dry-run) dry=1 ;;
"") dry=0 ;;
*) echo "usage: $0 [--list|--dry-run]" >&2; exit 2 ;;
esac

results_begin mutants
selected=()
if [ -n "${MUTANTS:-}" ]; then
	IFS=, read -r -a want <<<"$MUTANTS"
	for n in "${want[@]}"; do
		if [ -n "${M_FILE[$n]:-}" ]; then selected+=("$n"); else result fail "no mutant named '$n'"; fi
	done
else
	selected=("${M_NAMES[@]}")
fi
((${#selected[@]})) || results_end

mkdir -p "$work"
log "base: the tracked files of $TOP, test programs built once"
copy_tracked "$work/base/tree"
make -C "$work/base/tree/tests" >"$work/base/tests.log" 2>&1 ||
	{ cat "$work/base/tests.log"; result fail "base: make -C tests"; results_end; }

# The checks the selected mutants use, in order of first use.
checks=()
needs_regen=0
for n in "${selected[@]}"; do
	for c in ${M_CHECKS[$n]}; do
		[[ " ${checks[*]} " == *" $c "* ]] || checks+=("$c")
	done
	[ "${M_FILE[$n]}" != "$B" ] || needs_regen=1
done

# Controls: the unmutated copy passes every check used, and regenerating
# its skeletons reproduces the committed ones (so a BPF mutant differs by
# its edit alone).
declare -A control_ok
if [ "$needs_regen" = 1 ]; then
	tree_from_base "$work/control/regen"
	if regen_skeletons "$work/control/regen" "$work/control/regen.log" &&
		same_skeletons "$work/control/regen"; then
		log "control: ok - make -C iterators on the unmutated copy reproduces ${LE_SKELS[*]}"
	else
		cat "$work/control/regen.log"
		result fail "control: make -C iterators does not reproduce the committed skeletons"
	fi
	rm -rf "$work/control/regen"
fi
if [ "$dry" = 0 ]; then
	tree_from_base "$work/control/tree"
	for c in "${checks[@]}"; do
		log "control: $c on the unmutated copy (SUITES='$suites')"
		if run_check "$work/control/tree" "$c" "$work/control/$c.log" "$work/control/$c.result" |
			sed 's/^/mutants:   /'; then
			control_ok[$c]=1
			log "control: ok - $c passes on the unmutated copy"
		else
			killers "$work/control/tree" "$work/control/$c.log" | sed 's/^/mutants:   | /'
			result fail "control: $c fails on the unmutated copy: its mutants prove nothing"
		fi
	done
fi

table=$work/table.md
{
	echo "| mutant | file | edit | checks run | killed by |"
	echo "| --- | --- | --- | --- | --- |"
} >"$table"

for n in "${selected[@]}"; do
	d=$work/$n t0=$SECONDS
	rm -rf "$d" && mkdir -p "$d"
	tree_from_base "$d/tree"
	log "$n: ${M_WHAT[$n]} (${M_FILE[$n]})"
	if ! apply "$n" "$d/tree" >"$d/edit.log" 2>&1; then
		sed 's/^/mutants:   | /' "$d/edit.log"
		result fail "$n: the edit did not apply"
		continue
	fi
	sed 's/^/mutants:   | /' "$d/edit.log"
	[ "$dry" = 0 ] || continue

	: >"$d/killers"
	ran=() skipped=0
	for c in ${M_CHECKS[$n]}; do
		if [ -z "${control_ok[$c]:-}" ]; then
			log "  $c: not run, its control failed"
			skipped=1
			continue
		fi
		ran+=("$c")
		run_check "$d/tree" "$c" "$d/$c.log" "$d/$c.result" | sed 's/^/mutants:   /' || true
		killers "$d/tree" "$d/$c.log" | sed "s/^/$c: /" >>"$d/killers"
	done
	# The scratch tree's build/ is big; its logs stay.
	if [ -s "$d/killers" ]; then
		sed 's/^/mutants:   killer: /' "$d/killers"
	fi
	seconds=$((SECONDS - t0))
	if [ "$skipped" = 1 ]; then
		result fail "$n: not tested (a control failed)"
		verdict="not tested"
	elif [ ! -s "$d/killers" ]; then
		result fail "$n survived"
		verdict="**survived**"
	elif [ "${M_BUILD[$n]}" = 0 ] && only_build_failed "$d/killers"; then
		result fail "$n: only its build failed (the edit breaks compilation, not behaviour)"
		verdict="build only"
	else
		compact "$d/killers" >"$d/killers.short"
		result ok "$n killed by: $(paste -sd '\t' "$d/killers.short" | sed 's/\t/; /g')"
		verdict=$(md_cell <"$d/killers.short" | paste -sd '\t' | sed 's/\t/<br>/g')
	fi
	log "$n: ${seconds} s"
	{
		# shellcheck disable=SC2016 # Markdown's backquotes
		printf '| `%s` | `%s` | %s: ' "$n" "${M_FILE[$n]}" "${M_WHAT[$n]}"
		# shellcheck disable=SC2016 # Markdown's backquotes
		while IFS= read -r e; do printf '`sed -e %s` ' "$(printf "'%s'" "$e" | md_cell)"; done <<<"${M_SED[$n]}"
		printf '| %s (%d s) | %s |\n' "${ran[*]:-none}" "$seconds" "$verdict"
	} >>"$table"
done
[ "$dry" = 1 ] || log "table of this run: ${table#"$TOP"/}"
results_end
