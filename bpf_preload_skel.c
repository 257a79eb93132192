// SPDX-License-Identifier: GPL-2.0
/*
 * The light skeleton and nothing else, as plain functions for the C++ core,
 * which calls them only from its init code (in .init.text too). The
 * skeleton's blobs (loader program and data, ~9 KiB), which the compiler
 * puts in this object's .rodata, are freed with the init sections (Kbuild).
 * All of it is __init, so modpost reports any reference from resident code,
 * and __flatten, so the skeleton's static inline helpers are inlined here
 * rather than kept out of line in resident text.
 */
#include <linux/init.h>
#include "bpf_preload_kernel.h"
#include "iterators/iterators.lskel.h"

struct iterators *__init __flatten bpf_preload_skel_open(void)
{
	return iterators__open();
}

int __init __flatten bpf_preload_skel_load(struct iterators *skel)
{
	return iterators__load(skel);
}

int __init __flatten bpf_preload_skel_attach_dump_bpf_map(struct iterators *skel)
{
	return iterators__dump_bpf_map__attach(skel);
}

int __init __flatten
bpf_preload_skel_attach_dump_bpf_prog(struct iterators *skel)
{
	return iterators__dump_bpf_prog__attach(skel);
}

void __init __flatten bpf_preload_skel_get_fds(struct iterators *skel,
					       struct bpf_preload_skel_fds *fds)
{
	fds->link[0] = &skel->links.dump_bpf_map_fd;
	fds->link[1] = &skel->links.dump_bpf_prog_fd;
	fds->prog[0] = &skel->progs.dump_bpf_map.prog_fd;
	fds->prog[1] = &skel->progs.dump_bpf_prog.prog_fd;
	fds->rodata_map = &skel->maps.rodata.map_fd;
}

void __init __flatten bpf_preload_skel_destroy(struct iterators *skel)
{
	iterators__destroy(skel);
}
