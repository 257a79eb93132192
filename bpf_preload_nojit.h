/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a BPF_PROG_TYPE_SYSCALL program from kernel space on a kernel
 * built without a BPF JIT. Hand-written; bpf_preload_loader.c includes it
 * for the program that looks up vmlinux BTF ids.
 *
 * kern_sys_bpf() implements BPF_PROG_RUN only when the kernel is built
 * with CONFIG_BPF_JIT (it enters the program through helpers that live
 * with the JIT trampolines); without a JIT it answers -EINVAL. Debian's
 * s390x kernels are built that way: their z10 baseline leaves out the
 * s390 BPF JIT, which needs z196 instructions.
 *
 * On such kernels, this header points kern_sys_bpf() calls at
 * bpf_preload_sys_bpf(): BPF_PROG_RUN runs the program the way the bpf()
 * syscall runs a BPF_PROG_TYPE_SYSCALL program for user space (inside an
 * RCU tasks trace read-side section, with migration disabled; the
 * interpreter executes it), and every other command still goes to
 * kern_sys_bpf(). With a JIT nothing here is compiled.
 */
#ifndef BPF_PRELOAD_NOJIT_H
#define BPF_PRELOAD_NOJIT_H

#ifndef CONFIG_BPF_JIT
#include <linux/bpf.h>
#include <linux/err.h>
#include <linux/filter.h>
#include <linux/limits.h>
#include <linux/rcupdate_trace.h>
#include <linux/sched.h>

/* BPF_PROG_RUN of a syscall program on a kernel-space context. */
static int __init bpf_preload_prog_run(union bpf_attr *attr)
{
	void *ctx = (void *)(unsigned long)attr->test.ctx_in;
	u32 ctx_size = attr->test.ctx_size_in;
	struct bpf_prog *prog;
	u32 ret;

	/* One run on a context and nothing else, like kern_sys_bpf(). */
	if (attr->test.data_in || attr->test.data_out || attr->test.ctx_out ||
	    attr->test.duration || attr->test.repeat || attr->test.flags)
		return -EINVAL;

	prog = bpf_prog_get_type_dev(attr->test.prog_fd, BPF_PROG_TYPE_SYSCALL,
				     false);
	if (IS_ERR(prog))
		return PTR_ERR(prog);
	/* The verifier recorded how far into the context the program reads. */
	if (ctx_size < prog->aux->max_ctx_offset || ctx_size > U16_MAX) {
		bpf_prog_put(prog);
		return -EINVAL;
	}

	rcu_read_lock_trace();
	migrate_disable();
	ret = bpf_prog_run(prog, ctx);
	migrate_enable();
	rcu_read_unlock_trace();
	bpf_prog_put(prog);

	attr->test.retval = ret;
	return 0;
}

static long __init bpf_preload_sys_bpf(__u32 cmd, void *attr, __u32 attr_size)
{
	if (cmd == BPF_PROG_RUN)
		return bpf_preload_prog_run(attr);
	return kern_sys_bpf(cmd, attr, attr_size);
}

/* From here on, the includer calls ours. */
#define kern_sys_bpf bpf_preload_sys_bpf
#endif /* !CONFIG_BPF_JIT */

#endif /* BPF_PRELOAD_NOJIT_H */
