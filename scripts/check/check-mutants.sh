#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-mutants.sh            (make check-mutants) every mutant of
#                             scripts/check/mutants.tsv must be killed
# check-mutants.sh --list     the mutants, one per line
# check-mutants.sh --dry-run  apply every mutant (regenerating the
#                             tables of the BPF ones), run no check
#
# Each mutant is applied alone to a copy of the tracked files and the checks
# named for it run there; one must fail, and not only by a build failure
# unless it is marked "build" (DKMS must refuse it). The environment:
# tests/README.md. The run's table is build/mutants/table.md.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"

suites=${MUTANTS_SUITES:-bookworm}
robust_append=${MUTANTS_ROBUST_APPEND:-ROBUST_CHURN=20 ROBUST_CHURN_MOUNTED=5 ROBUST_RACE_LOADS=10 ROBUST_RACE_OBJECTS=200}
export VM_TIMEOUT=${VM_TIMEOUT:-300}
work=$TOP/build/mutants
bpf_source=iterators/iterators.bpf.c
le_tables=(iterators.tables-little-endian.h iterators_nocount.tables-little-endian.h)

names=()
declare -A m_file m_checks m_what m_sed m_build
while IFS=$'\t' read -r n build file checks what sed; do
	case $n in '#'* | '') continue ;; esac
	names+=("$n")
	m_file[$n]=$file m_checks[$n]=$checks m_what[$n]=$what m_sed[$n]=$sed m_build[$n]=$build
done <"$TOP/scripts/check/mutants.tsv"

log() { echo "mutants: $*"; }
indent() { sed "s/^/mutants:   $1/"; }

tree_from_base() { # tree_from_base DEST: a copy of base (tests/bin built once)
	rm -rf "$1" && mkdir -p "$(dirname "$1")"
	cp -a "$work/base/tree" "$1"
}

regen_tables() { # regen_tables TREE LOG: regenerated; prints those unlike base's
	local s
	rm -rf "$1/iterators/.output"
	make --no-print-directory -C "$1/iterators" "${le_tables[@]/#/./}" >"$2" 2>&1 ||
		{ cat "$2" >&2; echo "regenerating the tables failed" >&2; return 1; }
	for s in "${le_tables[@]}"; do
		cmp -s "$1/iterators/$s" "$work/base/tree/iterators/$s" || echo "$s"
	done
}

apply() { # apply NAME TREE: the mutant's sed expression, which must change the file
	local file=${m_file[$1]} e=${m_sed[$1]} changed
	local f=$2/$file
	[ -f "$f" ] || { echo "no file $file"; return 1; }
	sed -e "$e" "$f" | diff -u --label "a/$file" --label "b/$file" "$f" - &&
		{ echo "the edit did not apply: sed -e '$e' leaves $file unchanged"; return 1; }
	sed -i -e "$e" "$f" || return
	[ "$file" = "$bpf_source" ] || return 0
	changed=$(regen_tables "$2" "$work/$1/tables.log") || return 1
	[ -n "$changed" ] || { echo "the edit changed no tables header"; return 1; }
	echo "regenerated, changed: ${changed//$'\n'/ }"
}

run_check() { # run_check TREE CHECK LOG RESULT: the check in TREE, alone; its status
	local t=$SECONDS rc=0
	rm -f "$4"
	touch "$1/.check-start" # killers: only this check's guests
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL BPF_PRELOAD_RESULT="$4" SUITES="$suites" \
		ROBUST_APPEND="$robust_append" \
		make --no-print-directory -C "$1" "$2" SUITES="$suites" >"$3" 2>&1 || rc=$?
	# The initramfs images are big and rebuilt anyway.
	find "$1/build" -name '*.cpio.gz' -delete 2>/dev/null || true
	echo "$2: exit status $rc, recorded '$(cat "$4" 2>/dev/null)' ($((SECONDS - t)) s, log ${3#"$TOP"/})"
	return "$rc"
}

# What failed, one line each as "SERIES<tab>CHECK: WHAT": the host checks'
# FAIL lines, then per guest log (labelled by its directory) its "not ok"
# lines and guest_failures. SERIES is the kernel's (6.1), its release in
# WHAT becomes ABI, so that compact can merge the kernels.
killers() { # killers CHECK TREE OUTPUT
	local check=$1 tree=$2 line vmlog where label
	while IFS= read -r line; do
		by_kernel "$check: ${line//"$tree"\//}"
	done < <(sed -n 's/^[a-z0-9-]*: FAIL - /FAIL - /p' "$3")
	while IFS= read -r vmlog; do
		where=${vmlog#"$tree"/build/}
		where=${where%/vm.log}
		# The directory: vm-autoload's label is autoload; a release's none.
		label=$(sed 's|.*/||; s|^vm||; s|^-||; s|^[0-9].*||' <<<"$where")
		guest_failures "$vmlog" | while IFS= read -r line; do
			by_kernel "$check: ${label:+($label) }$line" "$where"
		done
	done < <(find "$tree/build" -name vm.log -newer "$tree/.check-start" 2>/dev/null | sort)
}

by_kernel() { # by_kernel TEXT [WHERE]: SERIES<tab>TEXT, the release from WHERE
	local abi="" series=""
	if [[ ${2:-$1} =~ [0-9]+\.[0-9]+\.[0-9]+[-+][^\ /:,]* ]]; then
		abi=${BASH_REMATCH[0]}
		[[ $abi =~ ^[0-9]+\.[0-9]+ ]] && series=${BASH_REMATCH[0]}
	fi
	printf '%s\t%s\n' "$series" "${1//"$abi"/ABI}"
}

# A guest log's "not ok" lines and what ktap_count finds wrong with its
# plans; for a guest that died, after which test and the first oops line.
guest_failures() { # guest_failures VMLOG
	local problem last oops died=0
	# run.sh names the variant and kernel in one description.
	sed -n -e "s/ the \(plain\|count\) format of kernel [^ ]*$/ the kernel's format/" \
		-e '/^not ok [0-9]* /p' "$1"
	while IFS= read -r problem; do
		# A guest that died in its first suite also ran no suite through.
		[[ $died = 1 && $problem == "no KTAP run"* ]] && continue
		[[ $problem == *"guest died"* ]] || { echo "# $problem"; continue; }
		died=1
		last=$(grep -E '^(not )?ok [0-9]+ |^1\.\.[0-9]+$' "$1" | tail -n 1)
		[[ $last != 1..* ]] || last="the plan"
		oops=$(grep -m 1 -E 'Kernel panic|BUG: |Oops|general protection fault' "$1" |
			sed -e 's/\[ *[0-9.]*\] //g' -e 's/ for address: .*//') || true
		echo "the guest died after \"$last\"${oops:+: $oops}"
	done < <(ktap_count "$1" 2>&1 >/dev/null)
}

# Each failure once, with the kernel series it happened on.
compact() { # compact KILLERS
	awk -F '\t' '
		!($2 in kern) { order[++n] = $2; kern[$2] = "" }
		$1 != "" && index(", " kern[$2] ", ", ", " $1 ", ") == 0 {
			kern[$2] = kern[$2] (kern[$2] == "" ? "" : ", ") $1
		}
		END {
			for (i = 1; i <= n; i++)
				print order[i] (kern[order[i]] == "" ? "" : " [" kern[order[i]] "]")
		}' "$1"
}

only_build_failed() { # only_build_failed KILLERS
	! cut -f 2 "$1" | grep -qvE '^[a-z-]+: FAIL - .*(dkms build|builds|zero warnings|initramfs)'
}

md_cell() { sed 's/|/\\|/g'; }

case ${1:-} in
--list)
	for n in "${names[@]}"; do
		printf '%-20s %-28s %-14s %s\n' "$n" "${m_file[$n]}" "${m_checks[$n]}" "${m_what[$n]}"
	done
	exit 0
	;;
--dry-run) dry=1 ;;
"") dry=0 ;;
*) echo "usage: $0 [--list|--dry-run]" >&2; exit 2 ;;
esac

results_begin mutants
wanted=("${names[@]}")
[ -z "${MUTANTS:-}" ] || IFS=, read -r -a wanted <<<"$MUTANTS"
selected=()
for n in "${wanted[@]}"; do
	if [ -n "${m_file[$n]:-}" ]; then selected+=("$n"); else result fail "no mutant named '$n'"; fi
done
((${#selected[@]})) || results_end

log "base: the tracked files of $TOP, test programs built once"
rm -rf "$work/base/tree" && mkdir -p "$work/base/tree"
# A tracked file deleted in the working tree is not copied.
while IFS= read -r -d '' f; do [ ! -e "$f" ] || printf '%s\0' "$f"; done < <(git ls-files -z) |
	tar -c --null -T - | tar -x -C "$work/base/tree"
make -C "$work/base/tree/tests" >"$work/base/tests.log" 2>&1 ||
	{ cat "$work/base/tests.log"; result fail "base: make -C tests"; results_end; }

# The checks the selected mutants use, in order of first use.
checks=() needs_regen=0
for n in "${selected[@]}"; do
	[ "${m_file[$n]}" != "$bpf_source" ] || needs_regen=1
	for c in ${m_checks[$n]}; do
		[[ " ${checks[*]} " == *" $c "* ]] || checks+=("$c")
	done
done

# Controls. Regenerating the unmutated tables must reproduce the
# committed ones, so a BPF mutant differs by its edit alone.
declare -A control_ok
if [ "$needs_regen" = 1 ]; then
	tree_from_base "$work/control/regen"
	if changed=$(regen_tables "$work/control/regen" "$work/control/regen.log") &&
		[ -z "$changed" ]; then
		log "control: ok - make -C iterators on the unmutated copy reproduces ${le_tables[*]}"
	else
		result fail "control: make -C iterators does not reproduce the committed tables"
	fi
	rm -rf "$work/control/regen"
fi
if [ "$dry" = 0 ]; then
	tree_from_base "$work/control/tree"
	for c in "${checks[@]}"; do
		log "control: $c on the unmutated copy (SUITES='$suites')"
		if run_check "$work/control/tree" "$c" "$work/control/$c.log" "$work/control/$c.result" |
			indent ""; then
			control_ok[$c]=1
			log "control: ok - $c passes on the unmutated copy"
		else
			killers "$c" "$work/control/tree" "$work/control/$c.log" | cut -f 2 | indent "| "
			result fail "control: $c fails on the unmutated copy: its mutants prove nothing"
		fi
	done
fi

table=$work/table.md
printf '| %s |\n' "mutant | file | edit | checks run | killed by" "--- | --- | --- | --- | ---" >"$table"
for n in "${selected[@]}"; do
	d=$work/$n t0=$SECONDS
	rm -rf "$d" && mkdir -p "$d"
	tree_from_base "$d/tree"
	log "$n: ${m_what[$n]} (${m_file[$n]})"
	apply "$n" "$d/tree" 2>&1 | tee "$d/edit.log" | indent "| " ||
		{ result fail "$n: the edit did not apply"; continue; }
	[ "$dry" = 0 ] || continue

	: >"$d/killers"
	ran=() verdict=""
	for c in ${m_checks[$n]}; do
		if [ -z "${control_ok[$c]:-}" ]; then
			log "  $c: not run, its control failed"
			verdict="not tested"
			continue
		fi
		ran+=("$c")
		run_check "$d/tree" "$c" "$d/$c.log" "$d/$c.result" | indent "" || true
		killers "$c" "$d/tree" "$d/$c.log" >>"$d/killers"
	done
	cut -f 2 "$d/killers" | indent "killer: "
	seconds=$((SECONDS - t0))
	if [ -n "$verdict" ]; then
		result fail "$n: not tested (a control failed)"
	elif [ ! -s "$d/killers" ]; then
		result fail "$n survived"
		verdict="**survived**"
	elif [ "${m_build[$n]}" = 0 ] && only_build_failed "$d/killers"; then
		result fail "$n: only its build failed (the edit breaks compilation, not behaviour)"
		verdict="build only"
	else
		compact "$d/killers" >"$d/killers.short"
		result ok "$n killed by: $(paste -sd '\t' "$d/killers.short" | sed 's/\t/; /g')"
		verdict=$(md_cell <"$d/killers.short" | paste -sd '\t' | sed 's/\t/<br>/g')
	fi
	log "$n: ${seconds} s"
	# shellcheck disable=SC2016 # Markdown's backquotes
	printf '| `%s` | `%s` | %s: `sed -e %s` | %s (%d s) | %s |\n' "$n" "${m_file[$n]}" \
		"${m_what[$n]}" "$(printf "'%s'" "${m_sed[$n]}" | md_cell)" "${ran[*]:-none}" \
		"$seconds" "$verdict" >>"$table"
done
[ "$dry" = 1 ] || log "table of this run: ${table#"$TOP"/}"
results_end
