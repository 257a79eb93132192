#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-all.sh TARGET...   runs each make target of `make check` and adds up
# the "<passed> <failed> <skipped>" each records in $BPF_PRELOAD_RESULT (one
# that records nothing, or exits non-zero with no failure recorded, counts
# one failure); writes support.md.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

# The support table, in Markdown: a row per kernel of this run
# (build/results/per-kernel, with the tool versions of its suite's chroot),
# the rows of support.md for the architectures it did not run, kept as they
# were, and the run's targets (build/results/summary).
support_table() (
	set -e
	per=build/results/per-kernel
	[ -s "$per" ] || { echo "check-all.sh: no $per" >&2; exit 1; }
	run="$(date -u +%F) $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!support.md' 2>/dev/null || echo '+changes')"
	# This run's rows (bench's steps are not tests).
	mapfile -t new < <(awk -F'\t' -v OFS='\t' '$1 != "bench" { k = $2 FS $3 FS $4
		if (!(k in p)) o[++n] = k
		p[k] += $5; f[k] += $6; s[k] += $7; c[k] = c[k] (c[k] ? " " : "") $1 }
		END { for (i = 1; i <= n; i++) print o[i], p[o[i]], f[o[i]], s[o[i]], c[o[i]] }' "$per" |
		while IFS=$'\t' read -r arch suite abi p f s checks; do
			IFS=$'\t' read -r cc libbpf pahole dkms < <(scripts/kernel/kernels.sh facts "$suite" "$abi")
			checks=$(tr ' ' '\n' <<<"$checks" | sort -u | paste -sd' ')
			printf '| %s | %s | %s | %s | %s | %s | %s | %d | %d | %d | %s | %s |\n' "$arch" \
				"$suite" "$abi" "$cc" "$libbpf" "$pahole" "$dkms" "$p" "$f" "$s" "$checks" "$run"
		done)
	ran=" $(printf '%s\n' "${new[@]}" | cut -d' ' -f2 | sort -u | paste -sd' ') "

	printf '# Support: the last result of every kernel\n\n'
	# shellcheck disable=SC2016 # Markdown backquotes, not shell
	printf 'Written by `make check` (scripts/check/check-all.sh); this run %s,\n' "$run"
	# shellcheck disable=SC1091 # the host's os-release
	printf 'host %s. Each kernel is the newest that a metapackage of its suite names;\n' \
		"$(. /etc/os-release && printf '%s' "$PRETTY_NAME")"
	printf 'an architecture the run did not check keeps the rows of its last run.\n\n'
	printf '| arch | suite | kernel | compiler | libbpf-dev | pahole | dkms | passed | failed | skipped | checks | run |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
	{
		printf '%s\n' "${new[@]}"
		while IFS= read -r row; do
			read -r _ arch _ <<<"$row"
			[[ $arch == arch || $ran == *" $arch "* ]] || printf '%s\n' "$row"
		done < <(grep -sE '^\| [a-z0-9]+ \| ' support.md)
	} | sort -s -t'|' -k2,2
	printf '\nEvery target of this run:\n\n```\n'
	sed 's/^check: //' build/results/summary
	printf '```\n'
)

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
support_table >support.md.new && mv support.md.new support.md
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
