/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's bpf_preload ABI (the header of kernel/bpf/preload/), usable
 * from C and C++. Debian's headers packages do not ship the kernel's copy,
 * and the C++ side must not include kernel headers, so the layout is
 * restated here; the glue compiles it next to <linux/bpf.h>, which would
 * reject a conflicting declaration of bpf_preload_ops.
 */
#ifndef BPF_PRELOAD_H
#define BPF_PRELOAD_H

struct bpf_link;
struct module;

/* bpffs pins this many links, in this order: maps.debug, progs.debug. */
#define BPF_PRELOAD_LINKS 2

struct bpf_preload_info {
	char link_name[16];
	struct bpf_link *link;
};

struct bpf_preload_ops {
	int (*preload)(struct bpf_preload_info *info);
	struct module *owner;
};

#ifdef __cplusplus
extern "C" {
#endif

/* Exported by kernel/bpf/inode.c; NULL until a preload module registers. */
extern struct bpf_preload_ops *bpf_preload_ops;

#ifdef __cplusplus
}
#endif

#endif /* BPF_PRELOAD_H */
