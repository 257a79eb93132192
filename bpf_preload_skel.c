// SPDX-License-Identifier: GPL-2.0
/*
 * The light skeleton and nothing else, as plain functions for the C++ core,
 * which calls them only while the module initialises. The skeleton's blobs
 * (loader program and data, ~9 KiB), which the compiler puts in this
 * object's .rodata, are freed with the init sections (Kbuild); these
 * functions are __ref, the only references to them modpost allows, and
 * __flatten, so the skeleton's static inline helpers are inlined here
 * rather than kept out of line.
 */
#include <linux/init.h>
#include "bpf_preload_kernel.h"
#include "iterators/iterators.lskel.h"

struct iterators *__ref __flatten bpf_preload_skel_open(void)
{
	return iterators__open();
}

int __ref __flatten bpf_preload_skel_load(struct iterators *skel)
{
	return iterators__load(skel);
}

int __ref __flatten bpf_preload_skel_attach_dump_bpf_map(struct iterators *skel)
{
	return iterators__dump_bpf_map__attach(skel);
}

int __ref __flatten bpf_preload_skel_attach_dump_bpf_prog(struct iterators *skel)
{
	return iterators__dump_bpf_prog__attach(skel);
}

void __ref __flatten bpf_preload_skel_get_fds(struct iterators *skel,
					      struct bpf_preload_skel_fds *fds)
{
	fds->link[0] = &skel->links.dump_bpf_map_fd;
	fds->link[1] = &skel->links.dump_bpf_prog_fd;
	fds->prog[0] = &skel->progs.dump_bpf_map.prog_fd;
	fds->prog[1] = &skel->progs.dump_bpf_prog.prog_fd;
	fds->rodata_map = &skel->maps.rodata.map_fd;
}

void __ref __flatten bpf_preload_skel_destroy(struct iterators *skel)
{
	iterators__destroy(skel);
}
