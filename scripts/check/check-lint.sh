#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-lint.sh                  (make lint, make check-lint) every check below
# check-lint.sh compile-commands (make compile_commands.json) only write it
#
# Runs in the build environment (scripts/kernel/chroot.sh) of Debian's
# current stable release among $SUITES, with that release's clang tools.
#
#   compile_commands.json  bear records the real kbuild build (a copy of the
#                          sources in build/lint/src, built for KDIR, default
#                          that release's newest kernel); the entries for
#                          bpf_preload_kern.cpp (g++, kernel flags) and
#                          bpf_preload_glue.c (gcc) are kept, pointed at the
#                          working tree, and written to ./compile_commands.json
#   clangd                 clangd --check opens both files with that
#                          database and .clangd (which drops the gcc-only
#                          kernel flags): no errors
#   clang-format           clang-format --dry-run -Werror on every tracked
#                          *.cpp and *.hpp
#   clang-tidy             clang-tidy with .clang-tidy on
#                          bpf_preload_kern.cpp, as built and as built with
#                          FAULT_INJECT=1: zero findings. clang does not know
#                          every gcc flag kbuild passes, so the database it
#                          reads (build/lint/tidy/) keeps only the flags that
#                          decide what the code means (-D, -I, -std,
#                          freestanding, no exceptions/RTTI, char and wchar
#                          signedness, the kernel code model) and the warnings
#   shell scripts          shellcheck on every tracked *.sh and .ci/run
#
# Installs what it needs there: bear, clang-tidy, clang-format, clangd,
# the shell linter, jq and git. Records "P F S" in $BPF_PRELOAD_RESULT if set.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mode=${1:-all}

# On the host: lint runs in the build environment of Debian's current
# stable release among $SUITES (else the first suite), against its newest
# kernel, with that release's clang tools: the same on any host.
if [ "$mode" != --in-env ]; then
	case $mode in
	all | compile-commands) ;;
	*) echo "usage: $0 [compile-commands]" >&2; exit 2 ;;
	esac
	# shellcheck source=scripts/lib/host.sh
	. scripts/lib/host.sh
	# shellcheck disable=SC2086 # a list of suites
	suite=$(scripts/kernel/kernels.sh stable $SUITES 2>/dev/null) || suite=${SUITES%% *}
	read -r suite abi < <(SUITES=$suite kernel_matrix | tail -n 1)
	kernel_use "$suite" "$abi" || { echo "lint: cannot fetch $suite $abi" >&2; exit 1; }
	scripts/kernel/chroot.sh apt "$suite" install bear clang-tidy clang-format clangd \
		shellcheck jq git >build/lint-apt.log 2>&1 ||
		{ cat build/lint-apt.log; echo "lint: cannot install the tools in $suite's chroot" >&2; exit 1; }
	rm -f build/lint-result
	rc=0
	in_build_env "$0" --in-env "$mode" "${KDIR:-$K_KDIR}" "$top/build/lint-result" || rc=$?
	if [ -n "${BPF_PRELOAD_RESULT:-}" ] && [ -s build/lint-result ]; then
		cp build/lint-result "$BPF_PRELOAD_RESULT"
	fi
	exit "$rc"
fi
mode=$2 kdir=$3 result_file=$4
git config --global --add safe.directory "$top"

w=$top/build/lint
mkdir -p "$w"

# --- compile_commands.json ---------------------------------------------------
rm -rf "$w/src"
scripts/pkg/dkms-source.sh "$w/src"
if ! bear --output "$w/bear.json" -- make -C "$w/src" KDIR="$kdir" modules >"$w/build.log" 2>&1; then
	cat "$w/build.log"
	echo "lint.sh: the module does not build for $kdir" >&2
	exit 1
fi
# The copy's paths become the working tree's; the -I of the skeleton's
# include dir needs the same symlink the Makefile makes.
jq --arg from "$w/src" --arg to "$top" '
	[.[] | select(.file | test("/bpf_preload_(kern\\.cpp|glue\\.c)$"))
	     | walk(if type == "string" then gsub($from; $to) else . end)]' \
	"$w/bear.json" >"$w/compile_commands.json"
mv "$w/compile_commands.json" "$top/compile_commands.json"
mkdir -p .skel_include/bpf
ln -sf /usr/include/bpf/skel_internal.h .skel_include/bpf/skel_internal.h
echo "lint: wrote compile_commands.json ($kdir)"
[ "$mode" = all ] || exit 0

passed=0
failed=0
result() { # result <0|1> <description>
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1)); echo "lint: ok - $2"
	else
		failed=$((failed + 1)); echo "lint: FAIL - $2"
	fi
}

# The database the checks below read must cover both files; lint's own
# output, so a precondition rather than a test.
files=$(jq -r '.[].file' compile_commands.json | sed "s|^$top/||" | LC_ALL=C sort | paste -sd ' ')
[ "$files" = "bpf_preload_glue.c bpf_preload_kern.cpp" ] ||
	{ echo "lint: compile_commands.json covers '$files', not the C++ core and the C glue" >&2; exit 1; }

for f in bpf_preload_kern.cpp bpf_preload_glue.c; do
	rc=0
	clangd --check="$top/$f" >"$w/clangd-${f%%.*}.log" 2>&1 || rc=$?
	if grep 'E\[' "$w/clangd-${f%%.*}.log"; then rc=1; fi
	result "$rc" "clangd --check=$f: no errors"
done

if git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp')
	mapfile -t shells < <(git ls-files '*.sh' .ci/run)
else
	mapfile -t cxx < <(find . -path ./build -prune -o -name '*.[ch]pp' -print | LC_ALL=C sort)
	mapfile -t shells < <(find . -path ./build -prune -o -name '*.sh' -print | LC_ALL=C sort; echo .ci/run)
fi

bad=()
for f in "${cxx[@]}"; do
	clang-format --dry-run -Werror "$f" 2>&1 | head -n 20 || true
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
rc=0
[ ${#bad[@]} -eq 0 ] || rc=1
result "$rc" "clang-format: ${#cxx[@]} C++ files formatted${bad[*]:+ (not: ${bad[*]})}"

# The database clang-tidy reads: clang++-14, the meaning-bearing flags only.
mkdir -p "$w/tidy"
jq '[.[] | select(.file | endswith(".cpp"))
	 | .arguments = ["clang++", "--target=x86_64-linux-gnu"]
		+ [.arguments[1:][] | select(test("^(-D|-I|-std=|-nostdinc$|-ffreestanding$|-fno-exceptions$|-fno-rtti$|-fno-threadsafe-statics$|-fno-use-cxa-atexit$|-funsigned-char$|-fshort-wchar$|-fno-strict-aliasing$|-fno-common$|-m64$|-mcmodel=kernel$|-mno-red-zone$|-Wall$|-Wextra$|-Wundef$|-Wvla$|-Wmissing-declarations$)"))]
		+ ["-c", .file]]' compile_commands.json >"$w/tidy/compile_commands.json"
for variant in module fault-inject; do
	extra=()
	[ "$variant" = module ] || extra=(--extra-arg=-DBPF_PRELOAD_FAULT_INJECT)
	rc=0
	clang-tidy -p "$w/tidy" "${extra[@]}" bpf_preload_kern.cpp >"$w/tidy-$variant.log" 2>&1 || rc=$?
	if grep -E '(warning|error):' "$w/tidy-$variant.log"; then rc=1; fi
	[ "$rc" -eq 0 ] || cat "$w/tidy-$variant.log"
	result "$rc" "clang-tidy bpf_preload_kern.cpp ($variant build): zero findings"
done

bad=()
for f in "${shells[@]}"; do
	shellcheck "$f" || bad+=("$f")
done
rc=0
[ ${#bad[@]} -eq 0 ] || rc=1
result "$rc" "shellcheck: ${#shells[@]} scripts clean${bad[*]:+ (not: ${bad[*]})}"

echo "lint: $passed passed, $failed failed"
echo "$passed $failed 0" >"$result_file"
[ "$failed" -eq 0 ]
