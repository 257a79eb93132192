// SPDX-License-Identifier: GPL-2.0
/*
 * Loads the iterators: the bpf() commands a light skeleton's loader
 * program would issue, issued by the module through kern_sys_bpf(), from
 * tables iterators/gen_tables.py made out of the BPF object: BTF, the
 * .rodata map, the programs with the kernel doing their CO-RE relocations,
 * and the iterator links. No loader program runs, so this works under
 * lockdown=confidentiality too, which refuses bpf_probe_read_kernel(), the
 * loader's helper, to every program. The one BPF program run here finds
 * vmlinux BTF ids with bpf_btf_find_by_name_kind(), which lockdown leaves
 * alone; no function that does it is exported to modules.
 *
 * Each step is a plain function the C++ core calls with its own error
 * handling and fd owners (bpf_preload_kern.cpp); all of it is __init, and
 * the tables are __initconst.
 */
#include <linux/bpf.h>
#include <linux/build_bug.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "bpf_preload_kernel.h"
#include "iterators/iterators_tables.h"

/* The kernel's own, exported, and in no header. */
long kern_sys_bpf(__u32 cmd, void *attr, __u32 attr_size);
/* Without a JIT, kern_sys_bpf() cannot run a program: ours then does. */
#include "bpf_preload_nojit.h"

static_assert(ITERATORS_LOOKUPS <= BPF_PRELOAD_IDS_MAX);
static_assert(ARRAY_SIZE(iterators_progs) == BPF_PRELOAD_LINKS);
static_assert(sizeof(iterators_rodata) > ITERATORS_RODATA_BTF_NAMES);
static_assert(ITERATORS_BIG_ENDIAN == (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__));

static const char license[] __initconst = "GPL";
/* The name a light skeleton gives it, which the tests and users know. */
static const char rodata_name[] __initconst = "iterator.rodata";

static int __init sys_bpf(enum bpf_cmd cmd, union bpf_attr *attr)
{
	return kern_sys_bpf(cmd, attr, sizeof(*attr));
}

int __init bpf_preload_load_btf(void)
{
	union bpf_attr attr = {
		.btf = (unsigned long)iterators_btf,
		.btf_size = sizeof(iterators_btf),
	};

	return sys_bpf(BPF_BTF_LOAD, &attr);
}

/*
 * The .rodata map, filled and frozen: the verifier then knows its
 * contents, which bpf_seq_printf() needs of its format strings, and
 * prunes the branch btf_names turns off.
 */
int __init bpf_preload_load_rodata(bool btf_names)
{
	u8 rodata[sizeof(iterators_rodata)];
	union bpf_attr attr = {
		.map_type = BPF_MAP_TYPE_ARRAY,
		.key_size = sizeof(u32),
		.value_size = sizeof(rodata),
		.max_entries = 1,
		.map_flags = BPF_F_RDONLY_PROG,
	};
	u32 key = 0;
	int fd, err;

	memcpy(rodata, iterators_rodata, sizeof(rodata));
	rodata[ITERATORS_RODATA_BTF_NAMES] = btf_names;

	memcpy(attr.map_name, rodata_name, sizeof(rodata_name));
	fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (fd < 0)
		return fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = (unsigned long)&key;
	attr.value = (unsigned long)rodata;
	err = sys_bpf(BPF_MAP_UPDATE_ELEM, &attr);
	if (!err) {
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = fd;
		err = sys_bpf(BPF_MAP_FREEZE, &attr);
	}
	if (err) {
		close_fd(fd);
		return err;
	}
	return fd;
}

/* Runs the generated lookup program; ids->id[i] is the i-th name's id. */
int __init bpf_preload_find_ids(struct bpf_preload_ids *ids)
{
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_SYSCALL,
		.insns = (unsigned long)iterators_lookup,
		.insn_cnt = ARRAY_SIZE(iterators_lookup),
		.license = (unsigned long)license,
		/* Like the light skeletons' loader: allowed to sleep. */
		.prog_flags = BPF_F_SLEEPABLE,
	};
	s64 found[ITERATORS_LOOKUPS] = {};
	int fd, err, i;

	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return fd;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = fd;
	attr.test.ctx_in = (unsigned long)found;
	attr.test.ctx_size_in = sizeof(found);
	err = sys_bpf(BPF_PROG_RUN, &attr);
	close_fd(fd);
	if (err)
		return err;

	/* A negative errno, or (module BTF fd << 32 | id): vmlinux has fd 0. */
	for (i = 0; i < ITERATORS_LOOKUPS; i++) {
		if (found[i] < 0)
			return found[i];
		if (found[i] == 0 || found[i] > U32_MAX)
			return -ENOENT;
		ids->id[i] = found[i];
	}
	return 0;
}

/* Loads program i (0: dump_bpf_map, 1: dump_bpf_prog); returns its fd. */
int __init bpf_preload_load_prog(int i, int btf_fd, int map_fd,
				 const struct bpf_preload_ids *ids)
{
	const struct iterators_prog *p = &iterators_progs[i];
	int fd_array[] = { map_fd }; /* the .rodata references' index 0 */
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_TRACING,
		.expected_attach_type = BPF_TRACE_ITER,
		.insn_cnt = p->insn_cnt,
		.license = (unsigned long)license,
		.attach_btf_id = ids->id[p->attach],
		.prog_btf_fd = btf_fd,
		.func_info_rec_size = sizeof(struct bpf_func_info),
		.func_info = (unsigned long)p->func_info,
		.func_info_cnt = p->func_info_cnt,
		.core_relos = (unsigned long)p->core_relos,
		.core_relo_cnt = p->core_relo_cnt,
		.core_relo_rec_size = sizeof(struct bpf_core_relo),
		.fd_array = (unsigned long)fd_array,
	};
	struct bpf_insn *insns;
	u32 k;
	int fd;

	/* The kfunc calls take the ids found at run time: patch a copy. */
	insns = kmemdup(p->insns, p->insn_cnt * sizeof(*insns), GFP_KERNEL);
	if (!insns)
		return -ENOMEM;
	for (k = 0; k < p->kfunc_cnt; k++)
		insns[p->kfuncs[k].insn].imm = ids->id[p->kfuncs[k].lookup];

	attr.insns = (unsigned long)insns;
	memcpy(attr.prog_name, p->name, sizeof(attr.prog_name));
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	kfree(insns);
	return fd;
}

int __init bpf_preload_link_create(int prog_fd)
{
	union bpf_attr attr = {
		.link_create.prog_fd = prog_fd,
		.link_create.attach_type = BPF_TRACE_ITER,
	};

	return sys_bpf(BPF_LINK_CREATE, &attr);
}

/* Whether the kernel refuses BPF programs reads of kernel memory. */
bool __init bpf_preload_bpf_reads_locked_down(void)
{
	return security_locked_down(LOCKDOWN_BPF_READ_KERNEL) < 0;
}
