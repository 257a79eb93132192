#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-all.sh TARGET...   runs each make target of `make check` and adds up
# their results. A target records "<passed> <failed>" in the file named by
# $BPF_PRELOAD_RESULT; one that records nothing counts as one failure. Ends
# with the line "N passed, N failed".
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
mkdir -p build/results
passed=0
failed=0
summary=()
for target in "$@"; do
	result=build/results/$target
	rm -f "$result"
	start=$SECONDS
	BPF_PRELOAD_RESULT=$PWD/$result make --no-print-directory "$target"
	rc=$?
	p=0 f=1
	[ -s "$result" ] && read -r p f <"$result"
	# A target that failed without recording a failure still failed.
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("$(printf '%-18s %3d passed, %d failed (%ds)' "$target" "$p" "$f" $((SECONDS - start)))")
done
echo
printf 'check: %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
