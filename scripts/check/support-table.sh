#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# support-table.sh   the support table of the last `make check`, in
#                    Markdown, from build/results/per-kernel (what each check
#                    counted per kernel) and build/results/summary; the
#                    compiler and tool versions are read from each suite's
#                    chroot. scripts/check/check-all.sh writes it to
#                    support.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
per=build/results/per-kernel
[ -s "$per" ] || { echo "support-table.sh: no $per (run make check)" >&2; exit 1; }

# shellcheck disable=SC2016 # Markdown backquotes, not shell
printf '# Support: the last `make check`\n\n'
# shellcheck disable=SC2016 # Markdown backquotes, not shell
printf 'Written by `make check` (scripts/check/support-table.sh) on %s, tree %s%s,\n' \
	"$(date -u +%F)" "$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- . 2>/dev/null || echo '+changes')"
# shellcheck disable=SC1091 # the host's os-release
printf 'host %s. Each kernel is the newest that a metapackage of its suite names.\n\n' \
	"$(. /etc/os-release && printf '%s' "$PRETTY_NAME")"
printf '| suite | kernel | compiler | libbpf-dev | pahole | dkms | passed | failed | skipped | checks |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
# (bench's steps are its bookkeeping, not tests: not counted)
awk -F'\t' '$1 == "bench" { next } { k = $2 "\t" $3; if (!(k in p)) o[++n] = k
	p[k] += $4; f[k] += $5; s[k] += $6; c[k] = c[k] (c[k] ? " " : "") $1 }
	END { for (i = 1; i <= n; i++) print o[i] "\t" p[o[i]] "\t" f[o[i]] "\t" s[o[i]] "\t" c[o[i]] }' "$per" |
	while IFS=$'\t' read -r suite abi p f s checks; do
		IFS=$'\t' read -r cc libbpf pahole dkms < <(scripts/kernel/kernels.sh facts "$suite" "$abi")
		checks=$(tr ' ' '\n' <<<"$checks" | sort -u | paste -sd' ')
		printf '| %s | %s | %s | %s | %s | %s | %d | %d | %d | %s |\n' \
			"$suite" "$abi" "$cc" "$libbpf" "$pahole" "$dkms" "$p" "$f" "$s" "$checks"
	done
if [ -s build/results/summary ]; then
	printf '\nEvery target of the run:\n\n```\n'
	sed 's/^check: //' build/results/summary
	printf '```\n'
fi
