// bpf_objs: list BPF programs and links straight from the bpf() syscall
// (independent of bpftool), and wait for programs to go away.
//
//   bpf_objs progs                  "<id> <type> <name>" per program
//   bpf_objs links                  "<id> <type> prog <id> [target <name>]"
//   bpf_objs wait-gone [-t MS] NAME...
//        poll every 100 ms until no program named NAME exists; exit 1 and
//        list the survivors after MS milliseconds (default 5000)

#include "common.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

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

const char *or_num(const char *s, unsigned v, std::string &buf)
{
	if (s)
		return s;
	buf = std::to_string(v);
	return buf.c_str();
}

// Objects that vanish between get_next_id and get_fd_by_id are skipped.
bool list_progs(std::vector<Prog> &out)
{
	__u32 id = 0;
	while (bpf_prog_get_next_id(id, &id) == 0) {
		const int fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			std::fprintf(stderr, "bpf_prog_get_fd_by_id(%u): %s\n",
				     id, t::errstr(errno).c_str());
			return false;
		}
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		const int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
		const int err = errno;
		close(fd);
		if (rc < 0) {
			std::fprintf(stderr, "prog %u info: %s\n", id,
				     t::errstr(err).c_str());
			return false;
		}
		std::string b;
		out.push_back(
			{id,
			 or_num(libbpf_bpf_prog_type_str(
					static_cast<bpf_prog_type>(info.type)),
				info.type, b),
			 info.name});
	}
	if (errno != ENOENT) {
		std::fprintf(stderr, "bpf_prog_get_next_id: %s\n",
			     t::errstr(errno).c_str());
		return false;
	}
	return true;
}

bool list_links(std::vector<Link> &out)
{
	__u32 id = 0;
	while (bpf_link_get_next_id(id, &id) == 0) {
		const int fd = bpf_link_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			std::fprintf(stderr, "bpf_link_get_fd_by_id(%u): %s\n",
				     id, t::errstr(errno).c_str());
			return false;
		}
		char target[64] = "";
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		// Only iterator links have a target name buffer to fill; get
		// the type first.
		int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (rc == 0 && info.type == BPF_LINK_TYPE_ITER) {
			info = {};
			info.iter.target_name = t::ptr_to_u64(target);
			info.iter.target_name_len = sizeof(target);
			len = sizeof(info);
			rc = bpf_obj_get_info_by_fd(fd, &info, &len);
		}
		const int err = errno;
		close(fd);
		if (rc < 0) {
			std::fprintf(stderr, "link %u info: %s\n", id,
				     t::errstr(err).c_str());
			return false;
		}
		std::string b;
		out.push_back(
			{id,
			 or_num(libbpf_bpf_link_type_str(
					static_cast<bpf_link_type>(info.type)),
				info.type, b),
			 info.prog_id, target});
	}
	if (errno != ENOENT) {
		std::fprintf(stderr, "bpf_link_get_next_id: %s\n",
			     t::errstr(errno).c_str());
		return false;
	}
	return true;
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
	using namespace std::chrono;
	auto start = steady_clock::now();
	for (;;) {
		std::vector<Prog> progs;
		std::vector<Prog> left;
		if (!list_progs(progs))
			return 1;
		for (const auto &p : progs)
			for (const auto &n : names)
				if (p.name == n)
					left.push_back(p);
		auto ms =
			duration_cast<milliseconds>(steady_clock::now() - start)
				.count();
		if (left.empty()) {
			std::printf("gone after %lld ms\n",
				    static_cast<long long>(ms));
			return 0;
		}
		if (ms >= timeout_ms) {
			for (const auto &p : left)
				std::printf("still there after %lld ms: prog "
					    "%u %s %s\n",
					    static_cast<long long>(ms), p.id,
					    p.type.c_str(), p.name.c_str());
			return 1;
		}
		std::this_thread::sleep_for(milliseconds(100));
	}
}

void usage(FILE *f)
{
	std::fprintf(f, "usage: bpf_objs progs\n"
			"       bpf_objs links\n"
			"       bpf_objs wait-gone [-t MS] PROG_NAME...\n");
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const std::string cmd = argv[1];
	if (cmd == "progs") {
		std::vector<Prog> progs;
		if (!list_progs(progs))
			return 1;
		for (const auto &p : progs)
			std::printf("%u %s %s\n", p.id, p.type.c_str(),
				    p.name.c_str());
		return 0;
	}
	if (cmd == "links") {
		std::vector<Link> links;
		if (!list_links(links))
			return 1;
		for (const auto &l : links)
			std::printf("%u %s prog %u%s%s\n", l.id, l.type.c_str(),
				    l.prog_id,
				    l.target.empty() ? "" : " target ",
				    l.target.c_str());
		return 0;
	}
	if (cmd == "wait-gone")
		return wait_gone(argc - 2, argv + 2);
	if (cmd == "-h" || cmd == "--help") {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
