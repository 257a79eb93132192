// long_name: a program whose function name is longer than the kernel's
// 15-character object name, as progs.debug shows it.
//
//   long_name [-c] PROGS_DEBUG
//        loads two socket filters named by one long function name: one with
//        BTF (its func_info names the function), one without; progs.debug
//        must show the whole name for the first, the 15 characters the
//        kernel keeps for the second. Exit status 0 when both rows are right.
//        -c: the module loaded without BTF names (lockdown): both rows show
//        the 15 characters.

#include "common.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/filter.h>
#include <sstream>

namespace {

constexpr t::Usage kUsage{"usage: long_name [-c] PROGS_DEBUG\n"};

constexpr const char *kFunction = "preload_test_function_with_a_long_name";

// BTF with one function, `int kFunction(void)`, loaded into the kernel;
// its fd and the function's type id.
struct FunctionBtf {
	int fd = -1;
	__u32 type_id = 0;
};

FunctionBtf load_function_btf()
{
	FunctionBtf out;
	btf *b = btf__new_empty();
	if (!b)
		return out;
	const int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	const int proto_id = int_id > 0 ? btf__add_func_proto(b, int_id) : -1;
	const int func_id =
		proto_id > 0
			? btf__add_func(b, kFunction, BTF_FUNC_STATIC, proto_id)
			: -1;
	if (func_id > 0 && btf__load_into_kernel(b) == 0) {
		// btf__free() closes its fd: keep one of our own.
		out.fd = dup(btf__fd(b));
		out.type_id = static_cast<__u32>(func_id);
	}
	btf__free(b);
	return out;
}

// A socket filter that returns 0, named with the first 15 characters of
// kFunction (what the kernel keeps); with btf_fd >= 0 its func_info names
// kFunction in full.
int load_prog(const FunctionBtf *btf)
{
	// r0 = 0; exit
	const bpf_insn insns[] = {t::insn(t::kMov, 0, 0, 0),
				  t::insn(t::kExit, 0, 0, 0)};
	const bpf_func_info info = {.insn_off = 0,
				    .type_id = btf ? btf->type_id : 0};
	bpf_prog_load_opts opts{};
	opts.sz = sizeof(opts);
	if (btf) {
		opts.prog_btf_fd = btf->fd;
		opts.func_info = &info;
		opts.func_info_cnt = 1;
		opts.func_info_rec_size = sizeof(info);
	}
	const std::string name(kFunction, BPF_OBJ_NAME_LEN - 1);
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, name.c_str(), "GPL",
			     insns, sizeof(insns) / sizeof(insns[0]), &opts);
}

__u32 prog_id(int fd)
{
	bpf_prog_info info{};
	__u32 len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// The name column of progs.debug's row for program `id`, or "" if none.
std::string name_in(const std::string &listing, __u32 id)
{
	std::istringstream lines(listing);
	std::string line;
	while (std::getline(lines, line)) {
		std::istringstream fields(line);
		unsigned long row_id = 0;
		std::string name;
		if (fields >> row_id >> name && row_id == id)
			return name;
	}
	return "";
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 2 && (std::string_view(argv[1]) == "-h" ||
			  std::string_view(argv[1]) == "--help"))
		return kUsage.help();
	const bool cut_only = argc == 3 && std::string_view(argv[1]) == "-c";
	if (argc != (cut_only ? 3 : 2))
		return kUsage.misuse();
	const char *path = argv[argc - 1];

	t::Checks checks("long_name");
	checks.set_verbose();
	const FunctionBtf btf = load_function_btf();
	const t::Fd btf_fd(btf.fd);
	if (!checks.expect_ok(btf.fd, errno, "BTF with function %s loads",
			      kFunction))
		return 1;
	const t::Fd with_btf(load_prog(&btf));
	if (!checks.expect_ok(with_btf.get(), errno,
			      "program with BTF func_info loads"))
		return 1;
	const t::Fd without_btf(load_prog(nullptr));
	if (!checks.expect_ok(without_btf.get(), errno,
			      "program without BTF loads"))
		return 1;

	const auto read = t::read_file(path);
	if (!checks.expect_ok(read ? 0 : -1, errno, "read %s", path))
		return 1;
	const std::string listing = read.value_or("");
	const std::string cut(kFunction, BPF_OBJ_NAME_LEN - 1);
	const std::string want = cut_only ? cut : kFunction;
	const std::string shown = name_in(listing, prog_id(with_btf.get()));
	checks.expect(shown == want, "with BTF, %s: '%s' (want '%s')",
		      cut_only ? "no BTF names: the kernel's 15 characters"
			       : "the whole function name",
		      shown.c_str(), want.c_str());
	const std::string plain = name_in(listing, prog_id(without_btf.get()));
	checks.expect(plain == cut,
		      "without BTF, the kernel's 15 characters: '%s' (want "
		      "'%s')",
		      plain.c_str(), cut.c_str());
	return checks.failures() == 0 ? 0 : 1;
}
