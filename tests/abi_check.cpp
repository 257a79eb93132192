// abi_check: bpf_preload.h restates two structs of the kernel's
// kernel/bpf/preload ABI, which no Debian header declares; compare their
// layout, as this program was compiled with it, with the running kernel's.
//
//   abi_check [BTF]
//        reads the kernel's BTF (default /sys/kernel/btf/vmlinux) and
//        checks struct bpf_preload_info and struct bpf_preload_ops: size,
//        and the name, offset and size of every member, in order. Exit
//        status 0 when both match.

#include "common.hpp"

#include "../bpf_preload.h"

#include <bpf/btf.h>
#include <cstddef>
#include <vector>

namespace {

constexpr t::Usage kUsage{"usage: abi_check [BTF]\n"};

struct Member {
	const char *name;
	size_t offset;
	size_t size;
};

struct Layout {
	const char *name;
	size_t size;
	std::vector<Member> members;
};

// The header declares a variable named like the ops struct, which hides
// the struct's name in C++ unless it is spelt with `struct`.
using Info = struct bpf_preload_info;
using Ops = struct bpf_preload_ops;

// bpf_preload.h as the module is built with it: every member's size too,
// pointers included (what the ABI fixes). A macro, because a member's
// name has to become both a string and an operand of offsetof.
// NOLINTBEGIN(bugprone-sizeof-expression)
#define MEMBER(type, field)                                                    \
	Member(#field, offsetof(type, field), sizeof(type::field))
std::vector<Layout> ours()
{
	return {
		{.name = "bpf_preload_info",
		 .size = sizeof(Info),
		 .members = {MEMBER(Info, link_name), MEMBER(Info, link)}},
		{.name = "bpf_preload_ops",
		 .size = sizeof(Ops),
		 .members = {MEMBER(Ops, preload), MEMBER(Ops, owner)}},
	};
}
#undef MEMBER
// NOLINTEND(bugprone-sizeof-expression)

void compare(t::Checks &checks, const btf *kernel, const Layout &want)
{
	const int id =
		btf__find_by_name_kind(kernel, want.name, BTF_KIND_STRUCT);
	if (!checks.expect(id > 0, "the kernel's BTF has struct %s", want.name))
		return;
	const btf_type *type = btf__type_by_id(kernel, id);
	checks.expect(type->size == want.size,
		      "sizeof(struct %s): %u (ours %zu)", want.name, type->size,
		      want.size);
	const __u16 n = btf_vlen(type);
	checks.expect(n == want.members.size(),
		      "struct %s: %u members (ours %zu)", want.name, n,
		      want.members.size());
	const btf_member *m = btf_members(type);
	for (size_t i = 0; i < n && i < want.members.size(); i++) {
		const Member &w = want.members[i];
		const char *name = btf__name_by_offset(kernel, m[i].name_off);
		const size_t offset = btf_member_bit_offset(type, i) / 8;
		const long long size = btf__resolve_size(kernel, m[i].type);
		checks.expect(std::string_view(name ? name : "") == w.name &&
				      offset == w.offset &&
				      size == static_cast<long long>(w.size),
			      "struct %s member %zu: %s at %zu, %lld bytes "
			      "(ours %s at %zu, %zu bytes)",
			      want.name, i, name ? name : "?", offset, size,
			      w.name, w.offset, w.size);
	}
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 2 && (std::string_view(argv[1]) == "-h" ||
			  std::string_view(argv[1]) == "--help"))
		return kUsage.help();
	if (argc > 2)
		return kUsage.misuse();
	const char *path = argc == 2 ? argv[1] : "/sys/kernel/btf/vmlinux";

	t::Checks checks("abi_check");
	checks.set_verbose();
	btf *kernel = btf__parse(path, nullptr);
	if (!checks.expect_ok(kernel ? 0 : -1, errno, "parse %s", path))
		return 1;
	for (const Layout &layout : ours())
		compare(checks, kernel, layout);
	btf__free(kernel);
	return checks.failures() == 0 ? 0 : 1;
}
