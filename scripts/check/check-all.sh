#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-all.sh TARGET...   runs each make target of `make check` and adds up
# their results. A target records "<passed> <failed> <skipped>" in the file
# named by $BPF_PRELOAD_RESULT; one that records nothing counts as one
# failure, and so does one that exits non-zero with no failure recorded.
# Writes build/results/summary (one line per target) and support.md (the
# kernels of the run: scripts/check/support-table.sh). Ends with the line
# "N passed, N failed, N skipped".
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
mkdir -p build/results
rm -f build/results/per-kernel
passed=0 failed=0 skipped=0 start=$SECONDS
summary=()
for target in "$@"; do
	result=build/results/$target
	rm -f "$result"
	t=$SECONDS
	BPF_PRELOAD_RESULT=$PWD/$result make --no-print-directory "$target"
	rc=$?
	p=0 f=1 s=0
	[ -s "$result" ] && read -r p f s <"$result"
	s=${s:-0}
	# A target that failed without recording a failure still failed.
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	summary+=("$(printf '%-20s %4d passed, %d failed, %d skipped (%ds)' "$target" "$p" "$f" "$s" $((SECONDS - t)))")
done
echo
printf 'check: %s\n' "${summary[@]}" | tee build/results/summary
printf 'check: %d s in all\n' $((SECONDS - start)) | tee -a build/results/summary
# The table keeps rows of the old support.md: written aside, then renamed.
scripts/check/support-table.sh >support.md.new && mv support.md.new support.md
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
