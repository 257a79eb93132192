#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-all.sh TARGET...   runs each make target of `make check` and adds up
# the "<passed> <failed> <skipped>" each records in $BPF_PRELOAD_RESULT (one
# that records nothing, or exits non-zero with no failure recorded, counts
# one failure). Writes build/results/summary and support.md
# (scripts/check/support-table.sh); ends with "N passed, N failed, N skipped".
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
mkdir -p build/results
rm -f build/results/per-kernel
passed=0 failed=0 skipped=0 start=$SECONDS summary=()
for target in "$@"; do
	result=build/results/$target t=$SECONDS p=0 f=1 s=0
	rm -f "$result"
	BPF_PRELOAD_RESULT=$PWD/$result make --no-print-directory "$target"
	rc=$?
	[ -s "$result" ] && read -r p f s <"$result"
	s=${s:-0}
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	summary+=("$(printf '%-20s %4d passed, %d failed, %d skipped (%ds)' "$target" "$p" "$f" "$s" $((SECONDS - t)))")
done
echo
printf 'check: %s\n' "${summary[@]}" "$((SECONDS - start)) s in all" | tee build/results/summary
# The table keeps rows of the old support.md: written aside, then renamed.
scripts/check/support-table.sh >support.md.new && mv support.md.new support.md
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
