/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C glue gives the C++ core: the loading steps
 * (bpf_preload_loader.c), inline kernel helpers and module facts
 * (bpf_preload_glue.c), which only C can reach, as plain functions. The
 * other direction is bpf_preload_core.h.
 * Errors cross as negative errno values.
 */
#ifndef BPF_PRELOAD_KERNEL_H
#define BPF_PRELOAD_KERNEL_H

#include "bpf_preload.h"

/*
 * The errno values the core returns on its own; the C++ side sees no kernel
 * header, so the glue checks each against the kernel's at compile time.
 */
enum bpf_preload_errno {
	BPF_PRELOAD_EBUSY = 16,
};

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Loading the iterators (bpf_preload_loader.c), one bpf() command or two
 * per step. Those that return an int return a new fd or a negative errno;
 * the caller owns and closes every fd.
 */
#define BPF_PRELOAD_IDS_MAX 4

/* vmlinux BTF ids: the iterators' attach targets and the kfunc, if any. */
struct bpf_preload_ids {
	unsigned int id[BPF_PRELOAD_IDS_MAX];
};

int bpf_preload_load_btf(void);
/* btf_names: progs.debug prints names from BTF, which lockdown refuses. */
int bpf_preload_load_rodata(bool btf_names);
int bpf_preload_find_ids(struct bpf_preload_ids *ids);
/* Program i: 0 is dump_bpf_map, 1 dump_bpf_prog. */
int bpf_preload_load_prog(int i, int btf_fd, int map_fd,
			  const struct bpf_preload_ids *ids);
int bpf_preload_link_create(int prog_fd);
bool bpf_preload_bpf_reads_locked_down(void);
/* The one line saying progs.debug shows aux->name (lockdown). */
void bpf_preload_note_lockdown(void);

/* bpf_link_get_from_fd() with its ERR_PTR turned into an errno. */
int bpf_preload_link_get(int fd, struct bpf_link **link);

/* cmpxchg() on bpf_preload_ops; returns the value found. */
struct bpf_preload_ops *
bpf_preload_ops_cmpxchg(struct bpf_preload_ops *old,
			struct bpf_preload_ops *new_ops);

struct module *bpf_preload_this_module(void);

/* One pr_err() naming the failed step and its errno. */
void bpf_preload_report(const char *step, int err);

/* Exported by the kernel with these prototypes since v5.11. */
void bpf_link_put(struct bpf_link *link);
int close_fd(unsigned int fd);

#ifdef BPF_PRELOAD_FAULT_INJECT
/*
 * Test build (make FAULT_INJECT=1): the module parameters fault_step and
 * fault_errno; the glue accepts only 1..MAX_ERRNO for the latter. And
 * fault_lockdown: load as under lockdown=confidentiality, on any kernel.
 */
extern char *bpf_preload_fault_step;
extern int bpf_preload_fault_errno;
extern bool bpf_preload_fault_lockdown;
#endif

#ifdef __cplusplus
}
#endif

#endif /* BPF_PRELOAD_KERNEL_H */
