#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh                    (make lint, make check-lint) every check below
# lint.sh compile-commands   (make compile_commands.json) only write it
#
#   compile_commands.json  bear records the real kbuild build (a copy of the
#                          sources in build/lint/src, built for KDIR, default
#                          Debian's newest 6.12 kernel); the entries for
#                          bpf_preload_kern.cpp (g++, kernel flags) and
#                          bpf_preload_glue.c (gcc) are kept, pointed at the
#                          working tree, and written to ./compile_commands.json
#   clangd                 clangd-14 --check opens both files with that
#                          database and .clangd (which drops the gcc-only
#                          kernel flags): no errors
#   clang-format           clang-format-14 --dry-run -Werror on every tracked
#                          *.cpp and *.hpp
#   clang-tidy             clang-tidy-14 with .clang-tidy on
#                          bpf_preload_kern.cpp, as built and as built with
#                          FAULT_INJECT=1: zero findings. clang does not know
#                          every gcc flag kbuild passes, so the database it
#                          reads (build/lint/tidy/) keeps only the flags that
#                          decide what the code means (-D, -I, -std,
#                          freestanding, no exceptions/RTTI, char and wchar
#                          signedness, the kernel code model) and the warnings
#   shell scripts          shellcheck on every tracked *.sh and .ci/run
#
# Installs what it needs from Debian (bear, clang-tidy-14, clang-format-14,
# clangd-14, shellcheck, jq). Records "<passed> <failed>" in
# $BPF_PRELOAD_RESULT if set (check-lint).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mode=${1:-all}
case $mode in
all | compile-commands) ;;
*) echo "usage: $0 [compile-commands]" >&2; exit 2 ;;
esac

packages=(bear clang-tidy-14 clang-format-14 clangd-14 shellcheck jq)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "lint.sh: install ${missing[*]} (as root)" >&2; exit 1; }
	echo "lint.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get -qq update && apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null; }
fi

w=$top/build/lint
mkdir -p "$w"

# --- compile_commands.json ---------------------------------------------------
if [ -n "${KDIR:-}" ]; then
	kdir=$KDIR
else
	abi=$(scripts/kernel/debian-kernel.sh abi 6.12)
	kdir=$(scripts/kernel/debian-kernel.sh fetch "$abi" | sed -n 's/^kdir=//p')
fi
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

files=$(jq -r '.[].file' compile_commands.json | sed "s|^$top/||" | LC_ALL=C sort | paste -sd ' ')
rc=0
[ "$files" = "bpf_preload_glue.c bpf_preload_kern.cpp" ] || rc=1
result "$rc" "compile_commands.json covers the C++ core and the C glue ($files)"

for f in bpf_preload_kern.cpp bpf_preload_glue.c; do
	rc=0
	clangd-14 --check="$top/$f" >"$w/clangd-${f%%.*}.log" 2>&1 || rc=$?
	if grep 'E\[' "$w/clangd-${f%%.*}.log"; then rc=1; fi
	result "$rc" "clangd-14 --check=$f: no errors"
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
	clang-format-14 --dry-run -Werror "$f" 2>&1 | head -n 20 || true
	clang-format-14 --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
rc=0
[ ${#bad[@]} -eq 0 ] || rc=1
result "$rc" "clang-format-14: ${#cxx[@]} C++ files formatted${bad[*]:+ (not: ${bad[*]})}"

# The database clang-tidy reads: clang++-14, the meaning-bearing flags only.
mkdir -p "$w/tidy"
jq '[.[] | select(.file | endswith(".cpp"))
	 | .arguments = ["clang++-14", "--target=x86_64-linux-gnu"]
		+ [.arguments[1:][] | select(test("^(-D|-I|-std=|-nostdinc$|-ffreestanding$|-fno-exceptions$|-fno-rtti$|-fno-threadsafe-statics$|-fno-use-cxa-atexit$|-funsigned-char$|-fshort-wchar$|-fno-strict-aliasing$|-fno-common$|-m64$|-mcmodel=kernel$|-mno-red-zone$|-Wall$|-Wextra$|-Wundef$|-Wvla$|-Wmissing-declarations$)"))]
		+ ["-c", .file]]' compile_commands.json >"$w/tidy/compile_commands.json"
for variant in module fault-inject; do
	extra=()
	[ "$variant" = module ] || extra=(--extra-arg=-DBPF_PRELOAD_FAULT_INJECT)
	rc=0
	clang-tidy-14 -p "$w/tidy" "${extra[@]}" bpf_preload_kern.cpp >"$w/tidy-$variant.log" 2>&1 || rc=$?
	if grep -E '(warning|error):' "$w/tidy-$variant.log"; then rc=1; fi
	[ "$rc" -eq 0 ] || cat "$w/tidy-$variant.log"
	result "$rc" "clang-tidy-14 bpf_preload_kern.cpp ($variant build): zero findings"
done

bad=()
for f in "${shells[@]}"; do
	shellcheck "$f" || bad+=("$f")
done
rc=0
[ ${#bad[@]} -eq 0 ] || rc=1
result "$rc" "shellcheck: ${#shells[@]} scripts clean${bad[*]:+ (not: ${bad[*]})}"

echo "lint: $passed passed, $failed failed"
[ -z "${BPF_PRELOAD_RESULT:-}" ] || echo "$passed $failed" >"$BPF_PRELOAD_RESULT"
[ "$failed" -eq 0 ]
