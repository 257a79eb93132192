/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which variant of the iterators the kernel being built for gets: the
 * tables iterators_tables.h picks follow it. Hand-written.
 *
 * The default variant calls the bpf_map_sum_elem_count() kfunc
 * (the cur_entries column of maps.debug), which appeared in Linux 6.6;
 * loading it on an older kernel fails outright.  A __weak kfunc guarded
 * by a run-time existence check would let one object serve both, but
 * that needs a verifier that accepts the address of a missing kfunc,
 * which 6.1's does not.  So the choice is made here at build time
 * instead: the "nocount" variant, without the kfunc, below 6.6.  Calling a kfunc also needs the BPF JIT turned on, so a
 * kernel whose JIT is not on from boot (CONFIG_BPF_JIT_DEFAULT_ON unset:
 * Debian's s390x kernels have no JIT, its riscv64 ones leave it off) gets
 * the "nocount" variant too, whatever its version; bpf_preload_nojit.h
 * runs the module's one syscall program on a kernel without a JIT.
 */
#ifndef BPF_PRELOAD_ITERATORS_VARIANT_H
#define BPF_PRELOAD_ITERATORS_VARIANT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0) && \
	defined(CONFIG_BPF_JIT_DEFAULT_ON)
#define ITERATORS_ELEM_COUNT_VARIANT 1
#else /* < 6.6 or the JIT off: no bpf_map_sum_elem_count() */
#define ITERATORS_ELEM_COUNT_VARIANT 0
#endif

#endif /* BPF_PRELOAD_ITERATORS_VARIANT_H */
