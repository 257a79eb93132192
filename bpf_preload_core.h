/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C++ core (bpf_preload_kern.cpp) gives the C glue: the module's
 * init and exit, and the bpffs callback. The other direction is
 * bpf_preload_kernel.h.
 */
#ifndef BPF_PRELOAD_CORE_H
#define BPF_PRELOAD_CORE_H

#include "bpf_preload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 0, or a negative errno after one pr_err() naming the failed step. */
int bpf_preload_init(void);
void bpf_preload_exit(void);
/* bpf_preload_ops.preload: the links for a new bpffs mount. */
int bpf_preload_fill(struct bpf_preload_info *info);

#ifdef __cplusplus
}
#endif

#endif /* BPF_PRELOAD_CORE_H */
