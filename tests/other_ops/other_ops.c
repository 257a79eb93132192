// SPDX-License-Identifier: GPL-2.0
/*
 * other_ops.ko: test-only module that takes the bpf_preload_ops hook the way
 * another preload provider would. The bpf_preload tests use it to check that
 * bpf_preload.ko refuses to replace someone else's ops, and as a probe of the
 * hook: it loads only while bpf_preload_ops is NULL (-EBUSY otherwise).
 *
 *   /sys/module/other_ops/parameters/installed   Y while bpf_preload_ops
 *                                                 points at our ops
 *   /sys/module/other_ops/parameters/calls       preload() calls so far
 *
 * preload() fails with -ENOANO, which nothing else on the bpffs mount path
 * returns, and hands out no links.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include "bpf_preload.h"

static atomic_t preload_calls = ATOMIC_INIT(0);

static int other_preload(struct bpf_preload_info *info)
{
	atomic_inc(&preload_calls);
	return -ENOANO;
}

static struct bpf_preload_ops other_ops = {
	.preload = other_preload,
	.owner = THIS_MODULE,
};

static int read_only_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static int installed_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%c\n",
			 READ_ONCE(bpf_preload_ops) == &other_ops ? 'Y' : 'N');
}

static int calls_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%d\n", atomic_read(&preload_calls));
}

static const struct kernel_param_ops installed_param_ops = {
	.set = read_only_set,
	.get = installed_get,
};

static const struct kernel_param_ops calls_param_ops = {
	.set = read_only_set,
	.get = calls_get,
};

module_param_cb(installed, &installed_param_ops, NULL, 0444);
MODULE_PARM_DESC(installed, "Y while bpf_preload_ops is this module's");
module_param_cb(calls, &calls_param_ops, NULL, 0444);
MODULE_PARM_DESC(calls, "number of preload() calls");

static int __init other_ops_init(void)
{
	if (cmpxchg(&bpf_preload_ops, NULL, &other_ops)) {
		pr_info("bpf_preload_ops is already set\n");
		return -EBUSY;
	}
	return 0;
}

static void __exit other_ops_exit(void)
{
	cmpxchg(&bpf_preload_ops, &other_ops, NULL);
}

module_init(other_ops_init);
module_exit(other_ops_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("test only: holds bpf_preload_ops for bpf_preload's tests");
