// SPDX-License-Identifier: GPL-2.0
/*
 * C glue for the C++ core: the module macros and parameters, and the kernel
 * helpers that are inline or macros (the loading steps are in
 * bpf_preload_loader.c). Everything here forwards; the decisions are in
 * bpf_preload_kern.cpp.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
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

static_assert(BPF_PRELOAD_EBUSY == EBUSY);

int __init bpf_preload_link_get(int fd, struct bpf_link **link)
{
	*link = bpf_link_get_from_fd(fd);
	return PTR_ERR_OR_ZERO(*link);
}

struct bpf_preload_ops *bpf_preload_ops_cmpxchg(struct bpf_preload_ops *old,
						struct bpf_preload_ops *new_ops)
{
	return cmpxchg(&bpf_preload_ops, old, new_ops);
}

struct module *__init bpf_preload_this_module(void)
{
	return THIS_MODULE;
}

void __init bpf_preload_report(const char *step, int err)
{
	pr_err("%s failed: %pe\n", step, ERR_PTR(err));
}

/* The text in init memory: only "%s" stays resident, with the format. */
static const char lockdown_note[] __initconst =
	"lockdown: loaded without BTF names; progs.debug shows 15-character names";

void __init bpf_preload_note_lockdown(void)
{
	pr_info("%s\n", lockdown_note);
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
		pr_err("fault_errno=%d: not an errno (1..%d)\n", err,
		       MAX_ERRNO);
		return -EINVAL;
	}
	*(int *)kp->arg = err;
	return 0;
}

static const struct kernel_param_ops fault_errno_ops = {
	.set = fault_errno_set,
	.get = param_get_int,
};

bool bpf_preload_fault_lockdown;

module_param_named(fault_step, bpf_preload_fault_step, charp, 0400);
MODULE_PARM_DESC(fault_step, "init step to fail (test build)");
module_param_cb(fault_errno, &fault_errno_ops, &bpf_preload_fault_errno, 0400);
__MODULE_PARM_TYPE(fault_errno, "int");
MODULE_PARM_DESC(fault_errno,
		 "errno the failed step returns, 1..4095 (test build)");
module_param_named(fault_lockdown, bpf_preload_fault_lockdown, bool, 0400);
MODULE_PARM_DESC(fault_lockdown,
		 "load as under lockdown=confidentiality (test build)");
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
