// bpf_objs: list BPF programs and links straight from the bpf() syscall
// (independent of bpftool), and wait for programs to go away.
//
//   bpf_objs progs                  "<id> <type> <name>" per program
//   bpf_objs links                  "<id> <type> prog <id> [target <name>]"
//   bpf_objs wait-gone [-t MS] NAME...
//        poll every 100 ms until no program named NAME exists; exit 1 and
//        list the survivors after MS milliseconds (default 5000)

#include "bpf_ids.hpp"

#include <bpf/libbpf.h>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr t::Usage kUsage{"usage: bpf_objs progs\n"
			  "       bpf_objs links\n"
			  "       bpf_objs wait-gone [-t MS] PROG_NAME...\n"};

struct Prog {
	__u32 id;
	std::string type;
	std::string name;
};

struct Link {
	__u32 id;
	std::string type;
	__u32 prog_id;
	std::string target; // iterator target, e.g. "bpf_map"
};

// A program or link type's name as libbpf's to_str knows it, else its
// number.
template <typename Type>
std::string type_name(const char *(*to_str)(Type), __u32 type)
{
	const char *s = to_str(static_cast<Type>(type));
	return s ? s : std::to_string(type);
}

// Every object of kind k, each filled in by info(id, fd, obj), which
// returns 0 or the errno of its failed bpf_obj_get_info_by_fd(). Objects
// that vanish between get_next_id and get_fd_by_id are skipped; any other
// failure is printed and there is no list.
template <typename Obj, typename Info>
std::optional<std::vector<Obj>> list(t::Kind k, Info info)
{
	const char *kind = t::kind_name(k);
	std::vector<Obj> out;
	const int walk_err = t::for_each_id(k, [&](__u32 id) {
		const int fd = t::get_fd_by_id(k, id);
		if (fd < 0) {
			if (errno == ENOENT)
				return true;
			std::fprintf(stderr, "bpf_%s_get_fd_by_id(%u): %s\n",
				     kind, id, t::errstr(errno).c_str());
			return false;
		}
		Obj obj{};
		const int err = info(id, fd, obj);
		close(fd);
		if (err != 0) {
			std::fprintf(stderr, "%s %u info: %s\n", kind, id,
				     t::errstr(err).c_str());
			return false;
		}
		out.push_back(obj);
		return true;
	});
	if (walk_err > 0)
		std::fprintf(stderr, "bpf_%s_get_next_id: %s\n", kind,
			     t::errstr(walk_err).c_str());
	if (walk_err != 0)
		return std::nullopt;
	return out;
}

std::optional<std::vector<Prog>> list_progs()
{
	return list<Prog>(t::Kind::Prog, [](__u32 id, int fd, Prog &p) {
		struct bpf_prog_info info = {};
		const int err = t::get_info(fd, info);
		p = {.id = id,
		     .type = type_name(libbpf_bpf_prog_type_str, info.type),
		     .name = info.name};
		return err;
	});
}

std::optional<std::vector<Link>> list_links()
{
	return list<Link>(t::Kind::Link, [](__u32 id, int fd, Link &l) {
		char target[64] = "";
		struct bpf_link_info info = {};
		// Only iterator links have a target name buffer to fill; get
		// the type first.
		int err = t::get_info(fd, info);
		if (err == 0 && info.type == BPF_LINK_TYPE_ITER) {
			info = {};
			info.iter.target_name = t::ptr_to_u64(target);
			info.iter.target_name_len = sizeof(target);
			err = t::get_info(fd, info);
		}
		l = {.id = id,
		     .type = type_name(libbpf_bpf_link_type_str, info.type),
		     .prog_id = info.prog_id,
		     .target = target};
		return err;
	});
}

void print(const Prog &p)
{
	std::printf("%u %s %s\n", p.id, p.type.c_str(), p.name.c_str());
}

void print(const Link &l)
{
	std::printf("%u %s prog %u%s%s\n", l.id, l.type.c_str(), l.prog_id,
		    l.target.empty() ? "" : " target ", l.target.c_str());
}

// `bpf_objs progs` and `bpf_objs links`: one line per object.
template <typename Obj>
int print_all(const std::optional<std::vector<Obj>> &objs)
{
	if (!objs)
		return 1;
	for (const Obj &o : *objs)
		print(o);
	return 0;
}

int wait_gone(int argc, char **argv)
{
	long timeout_ms = 5000;
	int i = 0;
	if (i + 1 < argc && std::string(argv[i]) == "-t") {
		timeout_ms = std::strtol(argv[i + 1], nullptr, 10);
		i += 2;
	}
	const std::vector<std::string> names(argv + i, argv + argc);
	if (names.empty()) {
		std::fprintf(stderr, "wait-gone: no program names given\n");
		return 2;
	}
	const auto step = [&](const t::Stopwatch &sw) -> std::optional<int> {
		const auto progs = list_progs();
		if (!progs)
			return 1;
		std::vector<Prog> left;
		for (const auto &p : *progs)
			for (const auto &n : names)
				if (p.name == n)
					left.push_back(p);
		const long long ms = sw.ms();
		if (left.empty()) {
			std::printf("gone after %lld ms\n", ms);
			return 0;
		}
		if (ms < timeout_ms)
			return std::nullopt;
		for (const auto &p : left)
			std::printf(
				"still there after %lld ms: prog %u %s %s\n",
				ms, p.id, p.type.c_str(), p.name.c_str());
		return 1;
	};
	return t::poll(std::chrono::milliseconds(100), step);
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	if (argc < 2)
		return kUsage.misuse();
	const std::string cmd = argv[1];
	if (cmd == "progs")
		return print_all(list_progs());
	if (cmd == "links")
		return print_all(list_links());
	if (cmd == "wait-gone")
		return wait_gone(argc - 2, argv + 2);
	if (cmd == "-h" || cmd == "--help")
		return kUsage.help();
	return kUsage.misuse();
}
