/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The string function <bpf/skel_internal.h> needs in kernel mode.
 * Hand-written, kernel side only; iterators.lskel.h includes it.
 *
 * libbpf's skel_map_create() names the map with strncpy(). Linux 7.0
 * dropped strncpy() (declaration and export), so on those kernels the
 * light skeleton no longer compiles. Rather than patch libbpf-dev's header,
 * the glue gives it a strncpy() of its own on every kernel: one behaviour
 * whatever the kernel has, and a header that keeps compiling when libbpf
 * stops calling it.
 *
 * The kernel's headers are read first, so their own strncpy() (declared or
 * FORTIFY's inline) is left as it is; only later text, libbpf's header and
 * the skeleton, sees the name mapped to ours.
 */
#ifndef BPF_PRELOAD_SKEL_STRING_H
#define BPF_PRELOAD_SKEL_STRING_H

#include <linux/string.h>
#include <linux/types.h>
/* Everything <bpf/skel_internal.h> includes in kernel mode, read now. */
#include <linux/bpf.h>
#include <linux/fdtable.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>

/*
 * strncpy() as C defines it: at most @n bytes of @src, the rest of @dst up
 * to @n zero-filled; no terminating NUL when @src is @n bytes or longer.
 */
static inline char *bpf_preload_strncpy(char *dst, const char *src, size_t n)
{
	size_t len = strnlen(src, n);

	memcpy(dst, src, len);
	memset(dst + len, 0, n - len);
	return dst;
}

#define strncpy bpf_preload_strncpy

#endif /* BPF_PRELOAD_SKEL_STRING_H */
