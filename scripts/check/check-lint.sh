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
#   clang-tidy, user space tests/*.cpp (and the tests/*.hpp they include)
#                          with tests/.clang-tidy, bench/*.cpp with
#                          bench/.clang-tidy: zero findings. Their database
#                          (build/lint/tidy-user/) is bear's record of
#                          tests/Makefile and bench/Makefile building a copy
#   C: kernel style        the tracked C files (the glue, its headers,
#                          iterators/, tests/other_ops/; not the generated
#                          skeletons): clang-format with the kernel's own
#                          .clang-format, and checkpatch.pl --no-tree -f with
#                          zero errors and warnings. Both come from the
#                          release's linux-source-<series> (series of the
#                          lint kernel), extracted once per version into
#                          $BPF_PRELOAD_CACHE/lint/, never into the tree
#   lintian                the .deb of `make deb`, built there: zero errors
#                          and warnings (debian/*.lintian-overrides, if any,
#                          say why a tag is wrong for a DKMS package)
#   shell scripts          shellcheck on every tracked *.sh and .ci/run
#
# Installs what it needs there: bear, clang-tidy, clang-format, clangd,
# the shell linter, jq, git, lintian, the package build tools, perl and
# linux-source-<series> for checkpatch, and the -dev packages the test
# programs include. Records "P F S" in $BPF_PRELOAD_RESULT if set.
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
	# checkpatch.pl and the kernel's .clang-format: from the source of the
	# lint kernel's series, as the release ships it.
	series=$(cut -d. -f1,2 <<<"$abi")
	tools=(bear jq git)
	[ "$mode" = compile-commands ] ||
		tools+=(clang-tidy clang-format clangd shellcheck lintian build-essential dpkg-dev
			debhelper dh-dkms perl "linux-source-$series" zlib1g-dev libzstd-dev)
	scripts/kernel/chroot.sh apt "$suite" install "${tools[@]}" >build/lint-apt.log 2>&1 ||
		{ cat build/lint-apt.log; echo "lint: cannot install the tools in $suite's chroot" >&2; exit 1; }
	rm -f build/lint-result
	kcache=${BPF_PRELOAD_CACHE:-/var/cache/bpf-preload}/lint
	mkdir -p "$kcache"
	# in_build_env, plus the cache the kernel's lint files are kept in and,
	# for a git worktree, the repository it belongs to (elsewhere).
	binds=(--bind "$top" --bind "$kcache")
	gitdir=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || gitdir=""
	case $gitdir in "" | "$top"/*) ;; *) binds+=(--bind "$gitdir") ;; esac
	rc=0
	"$CHROOT" run "$K_SUITE" "${binds[@]}" "$0" --in-env "$mode" \
		"${KDIR:-$K_KDIR}" "$top/build/lint-result" "$series" "$kcache" || rc=$?
	if [ -n "${BPF_PRELOAD_RESULT:-}" ] && [ -s build/lint-result ]; then
		cp build/lint-result "$BPF_PRELOAD_RESULT"
	fi
	exit "$rc"
fi
mode=$2 kdir=$3 result_file=$4 series=$5 kcache=$6
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

# clang-tidy on the user-space C++ (tests/, bench/), each directory with
# its own .clang-tidy. The database is bear's record of their Makefiles
# building a copy (a fresh copy: a built tree would compile nothing), with
# the copy's paths turned into the working tree's and, as for the module,
# only the flags that decide what the code means. Linked without -static:
# the release's static libelf wants more than the Makefiles link, and
# linking is not what lint reads.
tidy_user() {
	local u=$w/user d rc progs
	rm -rf "$u" && mkdir -p "$u" "$w/tidy-user"
	cp -r tests bench "$u/"
	rm -rf "$u/tests/bin" "$u/bench/bin"
	if ! bear --output "$w/user-bear.json" -- sh -c \
		"make -C '$u/tests' LDFLAGS= && make -C '$u/bench' LDFLAGS=" >"$w/user-build.log" 2>&1; then
		cat "$w/user-build.log"
		result 1 "tests/ and bench/ build for clang-tidy"
		return
	fi
	jq --arg from "$u" --arg to "$top" '
		[.[] | walk(if type == "string" then gsub($from; $to) else . end)
		     | .arguments = ["clang++"]
			+ [.arguments[1:][] | select(test("^(-D|-I|-O|-std=|-W)") and . != "-Werror")]
			+ ["-c", .file]]' "$w/user-bear.json" >"$w/tidy-user/compile_commands.json"
	for d in tests bench; do
		mapfile -t progs < <(jq -r --arg d "$top/$d/" \
			'.[].file | select(startswith($d))' "$w/tidy-user/compile_commands.json")
		# From the directory: clang-tidy takes HeaderFilterRegex from the
		# configuration of the directory it runs in.
		rc=0
		(cd "$d" && clang-tidy -p "$w/tidy-user" "${progs[@]}") >"$w/tidy-$d.log" 2>&1 || rc=$?
		if grep -E '(warning|error):' "$w/tidy-$d.log"; then rc=1; fi
		[ "$rc" -eq 0 ] || cat "$w/tidy-$d.log"
		[ ${#progs[@]} -gt 0 ] || rc=1
		result "$rc" "clang-tidy $d/: ${#progs[@]} programs, zero findings"
	done
}

# The kernel's checkpatch.pl (with the two lists it reads next to it) and
# its .clang-format, from the release's linux-source package: extracted
# once per package version into the cache. Prints the directory.
kernel_files() {
	local pkg=linux-source-$series ver dir
	ver=$(dpkg-query -W -f='${Version}' "$pkg") || return
	dir=$kcache/$pkg-$ver
	if [ ! -f "$dir/.complete" ]; then
		rm -rf "$dir" && mkdir -p "$dir"
		tar -xJf "/usr/src/$pkg.tar.xz" -C "$dir" --strip-components=1 \
			"$pkg/.clang-format" "$pkg/scripts/checkpatch.pl" \
			"$pkg/scripts/spelling.txt" "$pkg/scripts/const_structs.checkpatch" || return
		echo "$pkg=$ver" >"$dir/.complete"
	fi
	echo "$dir"
}

# checkpatch types switched off, per file, and why:
#   LINUX_VERSION_CODE (bpf_preload_glue.c, iterators/iterators.lskel.h):
#     one source builds for 6.1 to 7.x, so it picks by the target's version
#     what an in-tree module would not need to (MODULE_IMPORT_NS's form,
#     the skeleton with or without the 6.6 kfunc).
#   CONSTANT_COMPARISON (same files): `LINUX_VERSION_CODE >=
#     KERNEL_VERSION(...)` compares two constants; checkpatch takes the
#     left one for a variable.
#   RCU_TASKS_TRACE (iterators/skel_nojit.h): it runs a BPF syscall program
#     as the bpf() syscall does, inside an RCU tasks trace section: the BPF
#     code that checkpatch allows it in.
checkpatch_ignore() { # checkpatch_ignore FILE: its --ignore list
	case $1 in
	bpf_preload_glue.c | iterators/iterators.lskel.h) echo LINUX_VERSION_CODE,CONSTANT_COMPARISON ;;
	iterators/skel_nojit.h) echo RCU_TASKS_TRACE ;;
	*) echo "" ;;
	esac
}

# The C files in the kernel's style: its .clang-format, which governs only
# them (the tree's own .clang-format is for the C++), and checkpatch.
# iterators/iterators.bpf.c is left to checkpatch alone: the skeletons
# embed its lines (BTF line info), so a reflow means regenerating them.
kernel_style() {
	local kdir f ign bad=() out rc
	if ! kdir=$(kernel_files); then
		result 1 "C files: checkpatch.pl and .clang-format from linux-source-$series"
		return
	fi
	for f in "${cfiles[@]}"; do
		[ "$f" != iterators/iterators.bpf.c ] || continue
		clang-format --style="file:$kdir/.clang-format" --dry-run -Werror "$f" 2>&1 | head -n 20 || true
		clang-format --style="file:$kdir/.clang-format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done
	rc=0
	[ ${#bad[@]} -eq 0 ] || rc=1
	result "$rc" "clang-format (the kernel's, $(cat "$kdir/.complete")): $((${#cfiles[@]} - 1)) C files formatted${bad[*]:+ (not: ${bad[*]})}"
	bad=()
	for f in "${cfiles[@]}"; do
		ign=$(checkpatch_ignore "$f")
		out=$(perl "$kdir/scripts/checkpatch.pl" --no-tree -f --terse --show-types \
			${ign:+--ignore "$ign"} "$f" 2>&1) || bad+=("$f")
		grep -E '(ERROR|WARNING):' <<<"$out" && bad+=("$f")
	done
	mapfile -t bad < <(printf '%s\n' "${bad[@]}" | sort -u | grep .)
	rc=0
	[ ${#bad[@]} -eq 0 ] || rc=1
	result "$rc" "checkpatch --no-tree: ${#cfiles[@]} C files, zero errors and warnings${bad[*]:+ (not: ${bad[*]})}"
}

# lintian on the package as `make deb` builds it, with this release's
# debhelper and lintian. Root is fine for reading a .deb: its notice
# about that is not a finding.
lintian_deb() {
	local deb rc=0
	if ! deb=$(scripts/pkg/deb-build.sh "$w/deb" 2>"$w/deb-build.log" | tail -n 1) || [ ! -f "$deb" ]; then
		cat "$w/deb-build.log"
		result 1 "lintian: make deb builds the package"
		return
	fi
	lintian --fail-on error,warning "$deb" >"$w/lintian.log" 2>&1 || rc=$?
	grep -v 'running with root privileges' "$w/lintian.log" || true
	if grep -qE '^[EW]: ' "$w/lintian.log"; then rc=1; fi
	result "$rc" "lintian ${deb##*/}: zero errors and warnings"
}

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

# The C files are ours only: the four light skeletons are bpftool's output.
if git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp')
	mapfile -t shells < <(git ls-files '*.sh' .ci/run)
	mapfile -t cfiles < <(git ls-files '*.c' '*.h' | grep -v '\.lskel-.*-endian\.h$')
else
	mapfile -t cxx < <(find . -path ./build -prune -o -name '*.[ch]pp' -print | LC_ALL=C sort)
	mapfile -t shells < <(find . -path ./build -prune -o -name '*.sh' -print | LC_ALL=C sort; echo .ci/run)
	mapfile -t cfiles < <(find . \( -path ./build -o -path ./.skel_include -o -path ./iterators/.output \) -prune \
		-o -name '*.[ch]' ! -name '*.lskel-*-endian.h' ! -name '*.mod.c' -print | sed 's|^\./||' | LC_ALL=C sort)
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

tidy_user
kernel_style
lintian_deb

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
