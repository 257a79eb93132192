#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-lint.sh                  (make lint, make check-lint) every check below
# check-lint.sh compile-commands (make compile_commands.json) only write it
# In the build environment of Debian's stable release, whatever $SUITES is,
# against its newest kernel (or KDIR); README.md lists the checks.
set -euo pipefail
# shellcheck source=scripts/lib/host.sh
. "$(dirname "$0")/../lib/host.sh"
mode=${1:-all} USAGE="[compile-commands]"
[[ $mode == @(all|compile-commands|--in-env) ]] || usage

if [ "$mode" != --in-env ]; then
	# shellcheck disable=SC2086 # a list of suites
	suite=$(scripts/kernel/kernels.sh stable $DEBIAN_SUITES)
	read -r suite abi < <(SUITES=$suite kernel_matrix | tail -n 1)
	kernel_use "$suite" "$abi" || die "cannot fetch $suite $abi"
	# checkpatch.pl and .clang-format: from the release's linux-source.
	series=$(cut -d. -f1,2 <<<"$abi")
	mkdir -p build
	tools=(bear jq git)
	[ "$mode" = compile-commands ] ||
		tools+=(clang-tidy clang-format clangd shellcheck lintian build-essential dpkg-dev
			debhelper dh-dkms perl "linux-source-$series" zlib1g-dev libzstd-dev)
	scripts/kernel/chroot.sh apt "$suite" install "${tools[@]}" >build/lint-apt.log 2>&1 ||
		{ cat build/lint-apt.log; die "cannot install the tools in $suite's chroot"; }
	kcache=$CACHE/lint
	mkdir -p "$kcache"
	# A git worktree's repository, elsewhere, is bound too, and the result's dir.
	binds=(--bind "$TOP" --bind "$kcache")
	gitdir=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || gitdir=""
	case $gitdir in "" | "$TOP"/*) ;; *) binds+=(--bind "$gitdir") ;; esac
	[ -z "${BPF_PRELOAD_RESULT:-}" ] || binds+=(--bind "$(dirname "$BPF_PRELOAD_RESULT")")
	exec "$CHROOT" run "$K_SUITE" "${binds[@]}" "$0" --in-env "$mode" \
		"${KDIR:-$K_KDIR}" "${BPF_PRELOAD_RESULT:-}" "$series" "$kcache"
fi
mode=$2 kdir=$3 BPF_PRELOAD_RESULT=$4 series=$5 kcache=$6
git config --global --add safe.directory "$TOP"
w=$TOP/build/lint

# bear records the real kbuild build of a copy of the sources.
copy_sources "$w/src"
bear --output "$w/bear.json" -- make -C "$w/src" KDIR="$kdir" modules >"$w/build.log" 2>&1 ||
	{ cat "$w/build.log"; die "the module does not build for $kdir"; }
# The copy's paths become the working tree's.
jq --arg from "$w/src" --arg to "$TOP" '
	[.[] | select(.file | test("/bpf_preload_(kern\\.cpp|glue\\.c|loader\\.c)$"))
	     | walk(if type == "string" then gsub($from; $to) else . end)]' \
	"$w/bear.json" >"$w/compile_commands.json"
mv "$w/compile_commands.json" "$TOP/compile_commands.json"
echo "lint: wrote compile_commands.json ($kdir)"
[ "$mode" = all ] || exit 0

results_begin lint
# Passes if CMD succeeds and no line of its output (LOG) matches FINDINGS.
no_findings() { # no_findings DESC LOG FINDINGS CMD...
	"${@:4}" >"$2" 2>&1 && ! grep -qE "$3" "$2" && { result ok "$1"; return; }
	cat "$2"
	result fail "$1"
}

each_file() { # each_file DESC LIST CMD...: CMD FILE for each FILE of the array LIST
	local desc=$1 f bad=()
	local -n list=$2
	shift 2
	for f in "${list[@]}"; do
		"$@" "$f" >"$w/file.log" 2>&1 || bad+=("$f")
		head -n 40 "$w/file.log"
	done
	check "$desc${bad[*]:+ (not: ${bad[*]})}" test "${#bad[@]}" -eq 0
}

# From DIR: clang-tidy takes HeaderFilterRegex from the directory it runs
# in. No FILE is a failure.
tidy_in() { # tidy_in DIR DB FILE...
	local dir=$1 db=$2
	shift 2
	(($#)) && (cd "$dir" && clang-tidy -p "$db" "$@")
}

# The kernel's checkpatch.pl (and the lists it reads) and .clang-format,
# extracted once per linux-source version: the directory.
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

# checkpatch with zero errors and warnings. Types switched off, and why:
#   LINUX_VERSION_CODE: one source builds for 6.1 to 7.x, so it picks by the
#     target's version (MODULE_IMPORT_NS's form, the 6.6 kfunc).
#   CONSTANT_COMPARISON: `LINUX_VERSION_CODE >= KERNEL_VERSION(...)`
#     compares two constants; checkpatch takes the left one for a variable.
#   RCU_TASKS_TRACE: it runs a BPF syscall program as bpf() does, inside an
#     RCU tasks trace section: the BPF code that checkpatch allows it in.
#   VOLATILE: `const volatile` is how BPF C puts a variable in .rodata that
#     the compiler must not fold, so that the loader can set it (btf_names).
checkpatch() { # checkpatch KDIR FILE
	local ignore=() out
	case $2 in
	bpf_preload_glue.c | iterators/iterators_variant.h)
		ignore=(--ignore "LINUX_VERSION_CODE,CONSTANT_COMPARISON") ;;
	bpf_preload_nojit.h) ignore=(--ignore RCU_TASKS_TRACE) ;;
	iterators/iterators.bpf.c) ignore=(--ignore VOLATILE) ;;
	esac
	out=$(perl "$1/scripts/checkpatch.pl" --no-tree -f --terse --show-types "${ignore[@]}" \
		"$2" 2>&1) || { echo "$out"; return 1; }
	! grep -E '(ERROR|WARNING):' <<<"$out"
}

# A precondition (lint's own output), not a test.
files=$(jq -r '.[].file' compile_commands.json | sed "s|^$TOP/||" | LC_ALL=C sort | paste -sd ' ')
[ "$files" = "bpf_preload_glue.c bpf_preload_kern.cpp bpf_preload_loader.c" ] ||
	die "compile_commands.json covers '$files', not the C++ core and the C glue"

for f in bpf_preload_kern.cpp bpf_preload_glue.c bpf_preload_loader.c; do
	no_findings "clangd --check=$f: no errors" "$w/clangd-${f%%.*}.log" 'E\[' clangd --check="$TOP/$f"
done

# The C files written by hand only: iterators/*.tables-*-endian.h are
# gen_tables.py's output.
mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp')
mapfile -t shells < <(git ls-files '*.sh' .ci/run)
mapfile -t cfiles < <(git ls-files '*.c' '*.h' | grep -v -- '-endian\.h$')

each_file "clang-format: ${#cxx[@]} C++ files formatted" cxx clang-format --dry-run -Werror

# clang does not know every gcc flag kbuild passes: clang-tidy's database
# keeps the flags that decide what the code means.
mkdir -p "$w/tidy"
jq '[.[] | select(.file | endswith(".cpp"))
	 | .arguments = ["clang++", "--target=x86_64-linux-gnu"]
		+ [.arguments[1:][] | select(test("^(-D|-I|-std=|-nostdinc$|-ffreestanding$|-fno-exceptions$|-fno-rtti$|-fno-threadsafe-statics$|-fno-use-cxa-atexit$|-funsigned-char$|-fshort-wchar$|-fno-strict-aliasing$|-fno-common$|-m64$|-mcmodel=kernel$|-mno-red-zone$|-Wall$|-Wextra$|-Wundef$|-Wvla$|-Wmissing-declarations$)"))]
		+ ["-c", .file]]' compile_commands.json >"$w/tidy/compile_commands.json"
no_findings "clang-tidy bpf_preload_kern.cpp (module build): zero findings" \
	"$w/tidy-module.log" '(warning|error):' tidy_in . "$w/tidy" bpf_preload_kern.cpp
no_findings "clang-tidy bpf_preload_kern.cpp (fault-inject build): zero findings" \
	"$w/tidy-fault-inject.log" '(warning|error):' \
	tidy_in . "$w/tidy" --extra-arg=-DBPF_PRELOAD_FAULT_INJECT bpf_preload_kern.cpp

# tests/ and bench/, each with its own .clang-tidy, from bear's record of
# their Makefiles building a fresh copy (a built tree compiles nothing).
# Linked without -static: the release's static libelf wants more than the
# Makefiles link, and linking is not what lint reads.
u=$w/user
rm -rf "$u" && mkdir -p "$u" "$w/tidy-user"
cp -r tests bench bpf_preload.h "$u/"
rm -rf "$u/tests/bin" "$u/bench/bin"
if logged "tests/ and bench/ build for clang-tidy" "$w/user-build.log" bear --output \
	"$w/user-bear.json" -- sh -c "make -C '$u/tests' LDFLAGS= && make -C '$u/bench' LDFLAGS="; then
	jq --arg from "$u" --arg to "$TOP" '
		[.[] | walk(if type == "string" then gsub($from; $to) else . end)
		     | .arguments = ["clang++"]
			+ [.arguments[1:][] | select(test("^(-D|-I|-O|-std=|-W)") and . != "-Werror")]
			+ ["-c", .file]]' "$w/user-bear.json" >"$w/tidy-user/compile_commands.json"
	for d in tests bench; do
		mapfile -t progs < <(jq -r --arg d "$TOP/$d/" \
			'.[].file | select(startswith($d))' "$w/tidy-user/compile_commands.json")
		no_findings "clang-tidy $d/: ${#progs[@]} programs, zero findings" "$w/tidy-$d.log" \
			'(warning|error):' tidy_in "$d" "$w/tidy-user" "${progs[@]}"
	done
fi

# The C files in the kernel's style. iterators/iterators.bpf.c gets
# checkpatch alone: the kernel's clang-format would reflow its
# BPF_SEQ_PRINTF() calls, whose format strings scripts/check/mutants.tsv
# edits by their text.
if ! kdir=$(kernel_files); then
	result fail "C files: checkpatch.pl and .clang-format from linux-source-$series"
else
	mapfile -t kformat < <(printf '%s\n' "${cfiles[@]}" | grep -vx iterators/iterators.bpf.c)
	each_file "clang-format (the kernel's, $(cat "$kdir/.complete")): ${#kformat[@]} C files formatted" \
		kformat clang-format --style="file:$kdir/.clang-format" --dry-run -Werror
	each_file "checkpatch --no-tree: ${#cfiles[@]} C files, zero errors and warnings" \
		cfiles checkpatch "$kdir"
fi

# lintian on the package as `make deb` builds it with this release's tools.
if ! deb=$(scripts/pkg/deb-build.sh "$w/deb" 2>"$w/deb-build.log" | tail -n 1) ||
	[ ! -f "$deb" ]; then
	cat "$w/deb-build.log"
	result fail "lintian: make deb builds the package"
else
	no_findings "lintian ${deb##*/}: zero errors and warnings" "$w/lintian.log" '^[EW]: ' \
		lintian --fail-on error,warning "$deb"
fi
each_file "shellcheck: ${#shells[@]} scripts clean" shells shellcheck

results_end
