// bpf_count: account for every BPF program, map and link in the system by
// walking the kernel's id spaces (BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID,
// BPF_LINK_GET_NEXT_ID), so that a test can prove it left nothing behind.
//
//   bpf_count                     "progs N maps N links N"
//   bpf_count list                one line per object: "prog 12 dump_bpf_map"
//   bpf_count snap FILE           write the current objects to FILE
//   bpf_count settle [-t MS] FILE
//        wait until every object not in FILE is gone: poll every 20 ms for
//        at most MS milliseconds (default 5000), since the kernel frees
//        programs, maps and links after an RCU grace period or from a work
//        queue. Prints the counts then and now; on timeout lists the objects
//        that stayed and exits 1.
//
// Ids are allocated cyclically and not reused until they wrap at INT_MAX, so
// an object created after the snapshot never has an id from it: "nothing
// outside the snapshot" means "nothing new survived". Objects of the snapshot
// that went away meanwhile are reported, not counted as a failure.

#include "common.hpp"

#include <bpf/bpf.h>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

enum Kind : std::uint8_t { kProg, kMap, kLink, kKinds };

constexpr const char *kKindName[kKinds] = {"prog", "map", "link"};

using Id = std::pair<int, __u32>; // (kind, id)

struct Object {
	std::string name; // "" when the object went away before we asked
};

using Objects = std::map<Id, Object>;

int next_id(int kind, __u32 start, __u32 *next)
{
	switch (kind) {
	case kProg:
		return bpf_prog_get_next_id(start, next);
	case kMap:
		return bpf_map_get_next_id(start, next);
	default:
		return bpf_link_get_next_id(start, next);
	}
}

// A name for diagnostics: the object's own name, or its link type. Best
// effort: the object may be freed between the id walk and this call.
std::string describe(int kind, __u32 id)
{
	int fd = -1;
	switch (kind) {
	case kProg:
		fd = bpf_prog_get_fd_by_id(id);
		break;
	case kMap:
		fd = bpf_map_get_fd_by_id(id);
		break;
	default:
		fd = bpf_link_get_fd_by_id(id);
		break;
	}
	if (fd < 0)
		return "(gone: " + t::errstr(errno) + ")";
	std::string name;
	if (kind == kProg) {
		bpf_prog_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			name = info.name;
	} else if (kind == kMap) {
		bpf_map_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			name = info.name;
	} else {
		bpf_link_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			name = "type " + std::to_string(info.type) + " prog " +
			       std::to_string(info.prog_id);
	}
	close(fd);
	return name;
}

// Walks all three id spaces; false (with a message) if the walk itself
// fails for another reason than reaching the end.
bool walk(Objects &out, bool names)
{
	for (int kind = 0; kind < kKinds; kind++) {
		__u32 id = 0;
		while (next_id(kind, id, &id) == 0)
			out[{kind, id}] =
				Object{names ? describe(kind, id) : ""};
		if (errno != ENOENT) {
			std::fprintf(stderr, "bpf_count: %s id walk: %s\n",
				     kKindName[kind], t::errstr(errno).c_str());
			return false;
		}
	}
	return true;
}

std::string counts(const Objects &objs)
{
	int n[kKinds] = {};
	for (const auto &o : objs)
		n[o.first.first]++;
	return "progs " + std::to_string(n[kProg]) + " maps " +
	       std::to_string(n[kMap]) + " links " + std::to_string(n[kLink]);
}

bool read_snapshot(const char *path, Objects &out)
{
	std::ifstream in(path);
	if (!in) {
		std::fprintf(stderr, "bpf_count: cannot read %s\n", path);
		return false;
	}
	std::string kind;
	std::string name;
	__u32 id = 0;
	while (in >> kind >> id) {
		std::getline(in, name);
		int k = 0;
		while (k < kKinds && kind != kKindName[k])
			k++;
		if (k == kKinds) {
			std::fprintf(stderr, "bpf_count: %s: bad kind '%s'\n",
				     path, kind.c_str());
			return false;
		}
		out[{k, id}] = Object{name.empty() ? "" : name.substr(1)};
	}
	if (!in.eof()) {
		std::fprintf(stderr, "bpf_count: %s: unreadable line\n", path);
		return false;
	}
	return true;
}

void print(FILE *f, const Objects &objs)
{
	for (const auto &[id, o] : objs)
		std::fprintf(f, "%s %u %s\n", kKindName[id.first], id.second,
			     o.name.c_str());
}

int snap(const char *path)
{
	Objects objs;
	if (!walk(objs, true))
		return 1;
	FILE *f = std::fopen(path, "w");
	if (!f) {
		std::fprintf(stderr, "bpf_count: %s: %s\n", path,
			     t::errstr(errno).c_str());
		return 1;
	}
	print(f, objs);
	if (std::fclose(f) != 0) {
		std::fprintf(stderr, "bpf_count: writing %s failed\n", path);
		return 1;
	}
	std::printf("bpf_count: snapshot: %s\n", counts(objs).c_str());
	return 0;
}

int settle(long timeout_ms, const char *path)
{
	Objects base;
	if (!read_snapshot(path, base))
		return 1;
	using namespace std::chrono;
	auto start = steady_clock::now();
	for (;;) {
		Objects now;
		if (!walk(now, false))
			return 1;
		std::vector<Id> extra;
		for (const auto &o : now)
			if (!base.contains(o.first))
				extra.push_back(o.first);
		const long long ms =
			duration_cast<milliseconds>(steady_clock::now() - start)
				.count();
		if (extra.empty()) {
			std::printf("bpf_count: settled after %lld ms: "
				    "snapshot %s, now %s\n",
				    ms, counts(base).c_str(),
				    counts(now).c_str());
			for (const auto &o : base)
				if (!now.contains(o.first))
					std::printf("bpf_count: note: %s %u "
						    "%s of the snapshot is "
						    "gone\n",
						    kKindName[o.first.first],
						    o.first.second,
						    o.second.name.c_str());
			return 0;
		}
		if (ms >= timeout_ms) {
			std::printf("bpf_count: LEAK: %zu object(s) not in the "
				    "snapshot still exist after %lld ms "
				    "(snapshot %s, now %s):\n",
				    extra.size(), ms, counts(base).c_str(),
				    counts(now).c_str());
			for (const auto &id : extra)
				std::printf(
					"bpf_count:   %s %u %s\n",
					kKindName[id.first], id.second,
					describe(id.first, id.second).c_str());
			return 1;
		}
		std::this_thread::sleep_for(milliseconds(20));
	}
}

void usage(FILE *f)
{
	std::fprintf(f, "usage: bpf_count [list]\n"
			"       bpf_count snap FILE\n"
			"       bpf_count settle [-t MS] FILE\n");
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	const std::string cmd = argc > 1 ? argv[1] : "";
	if (argc == 1 || (cmd == "list" && argc == 2)) {
		Objects objs;
		if (!walk(objs, cmd == "list"))
			return 1;
		if (cmd == "list")
			print(stdout, objs);
		else
			std::printf("%s\n", counts(objs).c_str());
		return 0;
	}
	if (cmd == "snap" && argc == 3)
		return snap(argv[2]);
	if (cmd == "settle" && (argc == 3 || argc == 5)) {
		long timeout_ms = 5000;
		if (argc == 5) {
			if (std::string(argv[2]) != "-t") {
				usage(stderr);
				return 2;
			}
			char *end = nullptr;
			timeout_ms = std::strtol(argv[3], &end, 10);
			if (*end != '\0' || timeout_ms < 0) {
				usage(stderr);
				return 2;
			}
		}
		return settle(timeout_ms, argv[argc - 1]);
	}
	if (cmd == "-h" || cmd == "--help") {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
