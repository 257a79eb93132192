// bpf()'s three id spaces (programs, maps, links) and the info of an object
// in them: walked by bpf_count, bpf_objs and debug_check's snapshot, asked
// by debug_check's cross-check.
#pragma once

#include "common.hpp"

#include <array>
#include <bpf/bpf.h>
#include <cstdint>

namespace t {

enum class Kind : std::uint8_t { Prog, Map, Link };

constexpr std::array<Kind, 3> kKinds = {Kind::Prog, Kind::Map, Kind::Link};

// "prog", "map", "link": how the programs' messages name a kind.
inline const char *kind_name(Kind k)
{
	switch (k) {
	case Kind::Prog:
		return "prog";
	case Kind::Map:
		return "map";
	default:
		return "link";
	}
}

inline int get_next_id(Kind k, __u32 start, __u32 *next)
{
	switch (k) {
	case Kind::Prog:
		return bpf_prog_get_next_id(start, next);
	case Kind::Map:
		return bpf_map_get_next_id(start, next);
	default:
		return bpf_link_get_next_id(start, next);
	}
}

inline int get_fd_by_id(Kind k, __u32 id)
{
	switch (k) {
	case Kind::Prog:
		return bpf_prog_get_fd_by_id(id);
	case Kind::Map:
		return bpf_map_get_fd_by_id(id);
	default:
		return bpf_link_get_fd_by_id(id);
	}
}

// Calls visit(id) for every id of kind k in increasing order, as long as
// visit returns true. Returns 0 when the walk reached the end of the id
// space, -1 when visit stopped it, or the errno with which
// BPF_*_GET_NEXT_ID failed otherwise.
template <typename Visit> int for_each_id(Kind k, Visit visit)
{
	__u32 id = 0;
	while (get_next_id(k, id, &id) == 0)
		if (!visit(id))
			return -1;
	return errno == ENOENT ? 0 : errno;
}

// bpf_obj_get_info_by_fd() into `info` (a bpf_prog_info, bpf_map_info or
// bpf_link_info, filled in by the caller where it asks for more); 0 or the
// errno of the failure.
template <typename Info> int get_info(int fd, Info &info)
{
	__u32 len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? 0 : errno;
}

} // namespace t
