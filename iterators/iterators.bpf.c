// SPDX-License-Identifier: GPL-2.0
/*
 * BPF iterator programs behind bpffs' maps.debug and progs.debug.
 *
 * The module loads these from the tables iterators/gen_tables.py makes
 * of this object, pins one link per program into every bpffs mount, and
 * each read() of a pinned file runs the matching program once per object,
 * plus once more at the end with a NULL object.
 *
 * There is deliberately no vmlinux.h here: the few kernel structures we
 * touch are declared below with only the fields we read, and marked
 * preserve_access_index so that every field access is a CO-RE
 * relocation.  The module hands them to the kernel, which resolves them
 * against its own BTF at load time, so a single object serves every
 * kernel (Debian 6.1 and 6.12 lay these structures out differently).
 *
 * Build with -DITERATORS_ELEM_COUNT for kernels that have the
 * bpf_map_sum_elem_count() kfunc (6.6+); maps.debug then gains a
 * cur_entries column.
 */

/*
 * libbpf's bpf_helper_defs.h spells its prototypes with the kernel's
 * fixed-width types.  Define them here rather than pull in UAPI headers,
 * so the object only depends on clang and libbpf-dev.
 */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __s64 s64;

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __co_re __attribute__((preserve_access_index))

/* Forward declared by bpf_helper_defs.h; only ever used as a pointer. */
struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __co_re;

struct bpf_map {
	__u32 id;
	char name[16];
	__u32 max_entries;
} __co_re;

/*
 * In the kernel the members of the iterator contexts are wrapped in
 * __bpf_md_ptr() unions so they are 64 bits wide on every arch; CO-RE
 * finds them through the anonymous union, so plain pointers do here.
 */
struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
} __co_re;

struct btf_type {
	__u32 name_off;
} __co_re;

struct btf_header {
	__u32 str_len;
} __co_re;

struct btf {
	struct btf_type **types;
	char *strings;
	struct btf_header hdr;
	__u32 nr_types;
} __co_re;

struct bpf_func_info {
	__u32 insn_off;
	__u32 type_id;
} __co_re;

struct bpf_prog;

struct bpf_prog_aux {
	__u32 id;
	char name[16];
	const char *attach_func_name;
	struct bpf_prog *dst_prog;
	struct bpf_func_info *func_info;
	struct btf *btf;
} __co_re;

struct bpf_prog {
	struct bpf_prog_aux *aux;
} __co_re;

struct bpf_iter__bpf_prog {
	struct bpf_iter_meta *meta;
	struct bpf_prog *prog;
} __co_re;

/*
 * Printed for a missing attach function or target program.  A named
 * array (like BPF_SEQ_PRINTF's formats) lands in .rodata, whereas a ""
 * literal would go to .rodata.str1.1 and cost an extra map.
 */
static const char no_name[] = "";

#ifdef ITERATORS_ELEM_COUNT
/* Sums the map's per-CPU element counters; exists since Linux 6.6. */
extern s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;
#endif

SEC("iter/bpf_map")
int dump_bpf_map(struct bpf_iter__bpf_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u64 seq_num = ctx->meta->seq_num;
	struct bpf_map *map = ctx->map;

	/* The final call, made after the last map, has no map. */
	if (!map)
		return 0;

#ifdef ITERATORS_ELEM_COUNT
	if (seq_num == 0)
		BPF_SEQ_PRINTF(seq, "  id name             max_entries  cur_entries\n");

	/*
	 * The kfunc wants the trusted pointer the iterator handed us, so
	 * pass ctx->map itself rather than anything derived from it.
	 */
	BPF_SEQ_PRINTF(seq, "%4u %-16s  %10d   %10lld\n",
		       map->id, map->name, map->max_entries,
		       bpf_map_sum_elem_count(map));
#else
	if (seq_num == 0)
		BPF_SEQ_PRINTF(seq, "  id name             max_entries\n");

	BPF_SEQ_PRINTF(seq, "%4u %-16s%6d\n",
		       map->id, map->name, map->max_entries);
#endif
	return 0;
}

/*
 * Whether progs.debug prints the full function name from the program's
 * BTF. The module clears it under lockdown=confidentiality, which refuses
 * bpf_probe_read_kernel() to every program: .rodata is frozen before the
 * programs load, so the verifier knows the value and never visits the
 * branch with the call, and the program loads there too.
 */
const volatile _Bool btf_names = 1;

/*
 * aux->name is cut at 15 characters, so prefer the full function name
 * that the program's BTF records for its main function, when it has one.
 * The type id and the name's offset are checked against the BTF they
 * index: anything out of range falls back to aux->name.
 */
static __always_inline const char *prog_name(struct bpf_prog_aux *aux)
{
	struct bpf_func_info *finfo = aux->func_info;
	struct btf *btf = aux->btf;
	struct btf_type *t = NULL;
	__u32 type_id, name_off;

	if (!btf_names || !finfo || !btf)
		return aux->name;

	type_id = finfo->type_id;
	if (type_id >= btf->nr_types)
		return aux->name;

	/*
	 * btf->types is an array of pointers indexed by type id.  The
	 * verifier does not let a program index kernel memory with a
	 * variable, and a pointer-to-pointer read comes back as a plain
	 * number anyway, so fetch the slot with a probe read.
	 */
	if (bpf_probe_read_kernel(&t, sizeof(t), btf->types + type_id) || !t)
		return aux->name;

	name_off = BPF_CORE_READ(t, name_off);
	if (!name_off || name_off >= btf->hdr.str_len)
		return aux->name;

	/* bpf_seq_printf() copies %s strings with a fault-safe read. */
	return btf->strings + name_off;
}

SEC("iter/bpf_prog")
int dump_bpf_prog(struct bpf_iter__bpf_prog *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	__u64 seq_num = ctx->meta->seq_num;
	struct bpf_prog *prog = ctx->prog;
	const char *attach = no_name, *target = no_name;
	struct bpf_prog_aux *aux;
	struct bpf_prog *dst;

	if (!prog)
		return 0;

	aux = prog->aux;

	/*
	 * Test for NULL explicitly instead of letting %s hit a faulting
	 * read: on s390 low kernel addresses are mapped (lowcore), so a
	 * NULL-based pointer would print garbage rather than nothing.
	 */
	if (aux->attach_func_name)
		attach = aux->attach_func_name;
	dst = aux->dst_prog;
	if (dst)
		target = dst->aux->name;

	if (seq_num == 0)
		BPF_SEQ_PRINTF(seq, "  id name             attached\n");

	BPF_SEQ_PRINTF(seq, "%4u %-16s %s %s\n", aux->id, prog_name(aux),
		       attach, target);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
