// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for the C++ core: the module macros, the light skeleton (whose
 * header needs kernel headers) and the kernel helpers that are inline or
 * macros. Everything here forwards; the decisions are in bpf_preload_kern.cpp.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/version.h>
#include "bpf_preload_core.h"
#include "bpf_preload_kernel.h"
#include "iterators/iterators.lskel.h"

static_assert(BPF_PRELOAD_ENOMEM == ENOMEM);
static_assert(BPF_PRELOAD_EBUSY == EBUSY);

/*
 * The bpf_preload_skel_*() functions run only while the module loads, and
 * the skeleton's blobs with whatever else the compiler put in this file's
 * .rodata are in .init.rodata (see Kbuild): they are __ref.
 */
struct iterators *__ref bpf_preload_skel_open(void)
{
	return iterators__open();
}

int __ref bpf_preload_skel_load(struct iterators *skel)
{
	return iterators__load(skel);
}

int __ref bpf_preload_skel_attach_dump_bpf_map(struct iterators *skel)
{
	return iterators__dump_bpf_map__attach(skel);
}

int __ref bpf_preload_skel_attach_dump_bpf_prog(struct iterators *skel)
{
	return iterators__dump_bpf_prog__attach(skel);
}

void __ref bpf_preload_skel_get_fds(struct iterators *skel,
				    struct bpf_preload_skel_fds *fds)
{
	fds->link[0] = &skel->links.dump_bpf_map_fd;
	fds->link[1] = &skel->links.dump_bpf_prog_fd;
	fds->prog[0] = &skel->progs.dump_bpf_map.prog_fd;
	fds->prog[1] = &skel->progs.dump_bpf_prog.prog_fd;
	fds->rodata_map = &skel->maps.rodata.map_fd;
}

void __ref bpf_preload_skel_destroy(struct iterators *skel)
{
	iterators__destroy(skel);
}

int bpf_preload_link_get(int fd, struct bpf_link **link)
{
	*link = bpf_link_get_from_fd(fd);
	return PTR_ERR_OR_ZERO(*link);
}

struct bpf_preload_ops *bpf_preload_ops_cmpxchg(struct bpf_preload_ops *old,
						struct bpf_preload_ops *new_ops)
{
	return cmpxchg(&bpf_preload_ops, old, new_ops);
}

struct module *bpf_preload_this_module(void)
{
	return THIS_MODULE;
}

void bpf_preload_report(const char *step, int err)
{
	pr_err("%s failed: %pe\n", step, ERR_PTR(err));
}

static int __init bpf_preload_module_init(void)
{
	return bpf_preload_init();
}

static void __exit bpf_preload_module_exit(void)
{
	bpf_preload_exit();
}

late_initcall(bpf_preload_module_init);
module_exit(bpf_preload_module_exit);

#ifdef BPF_PRELOAD_FAULT_INJECT
char *bpf_preload_fault_step;
int bpf_preload_fault_errno = ENOMEM;

/* An errno of 0 or below would turn the injected failure into a success. */
static int fault_errno_set(const char *val, const struct kernel_param *kp)
{
	int err;
	int ret = kstrtoint(val, 0, &err);

	if (ret)
		return ret;
	if (err < 1 || err > MAX_ERRNO) {
		pr_err("fault_errno=%d: not an errno (1..%d)\n", err, MAX_ERRNO);
		return -EINVAL;
	}
	*(int *)kp->arg = err;
	return 0;
}

static const struct kernel_param_ops fault_errno_ops = {
	.set = fault_errno_set,
	.get = param_get_int,
};

module_param_named(fault_step, bpf_preload_fault_step, charp, 0400);
MODULE_PARM_DESC(fault_step, "init step to fail (test build)");
module_param_cb(fault_errno, &fault_errno_ops, &bpf_preload_fault_errno, 0400);
MODULE_PARM_DESC(fault_errno, "errno the failed step returns, 1..4095 (test build)");
MODULE_INFO(fault_inject, "test build, not for production");
#endif

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bpffs maps.debug and progs.debug, in freestanding C++");
/* Since 6.12 kern_sys_bpf() and friends are exported to BPF_INTERNAL only. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("BPF_INTERNAL");
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
MODULE_IMPORT_NS(BPF_INTERNAL);
#endif
