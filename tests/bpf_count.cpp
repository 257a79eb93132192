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

#include "bpf_ids.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using t::Kind;

constexpr t::Usage kUsage{"usage: bpf_count [list]\n"
			  "       bpf_count snap FILE\n"
			  "       bpf_count settle [-t MS] FILE\n"};

using Id = std::pair<Kind, __u32>;

struct Object {
	std::string name; // "" when the object went away before we asked
};

using Objects = std::map<Id, Object>;

// A name for diagnostics: the object's own name, or its link type. Best
// effort: the object may be freed between the id walk and this call.
std::string describe(Kind kind, __u32 id)
{
	const int fd = t::get_fd_by_id(kind, id);
	if (fd < 0)
		return "(gone: " + t::errstr(errno) + ")";
	std::string name;
	if (kind == Kind::Prog) {
		bpf_prog_info info = {};
		if (t::get_info(fd, info) == 0)
			name = info.name;
	} else if (kind == Kind::Map) {
		bpf_map_info info = {};
		if (t::get_info(fd, info) == 0)
			name = info.name;
	} else {
		bpf_link_info info = {};
		if (t::get_info(fd, info) == 0)
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
	for (const Kind kind : t::kKinds) {
		const int err = t::for_each_id(kind, [&](__u32 id) {
			out[{kind, id}] =
				Object{names ? describe(kind, id) : ""};
			return true;
		});
		if (err != 0) {
			std::fprintf(stderr, "bpf_count: %s id walk: %s\n",
				     t::kind_name(kind),
				     t::errstr(err).c_str());
			return false;
		}
	}
	return true;
}

std::string counts(const Objects &objs)
{
	std::map<Kind, int> n;
	for (const auto &o : objs)
		n[o.first.first]++;
	return "progs " + std::to_string(n[Kind::Prog]) + " maps " +
	       std::to_string(n[Kind::Map]) + " links " +
	       std::to_string(n[Kind::Link]);
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
		const auto *k = std::ranges::find_if(t::kKinds, [&](Kind k) {
			return kind == t::kind_name(k);
		});
		if (k == t::kKinds.end()) {
			std::fprintf(stderr, "bpf_count: %s: bad kind '%s'\n",
				     path, kind.c_str());
			return false;
		}
		out[{*k, id}] = Object{name.empty() ? "" : name.substr(1)};
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
		std::fprintf(f, "%s %u %s\n", t::kind_name(id.first), id.second,
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
	const auto step = [&](const t::Stopwatch &sw) -> std::optional<int> {
		Objects now;
		if (!walk(now, false))
			return 1;
		std::vector<Id> extra;
		for (const auto &o : now)
			if (!base.contains(o.first))
				extra.push_back(o.first);
		const long long ms = sw.ms();
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
						    t::kind_name(o.first.first),
						    o.first.second,
						    o.second.name.c_str());
			return 0;
		}
		if (ms < timeout_ms)
			return std::nullopt;
		std::printf("bpf_count: LEAK: %zu object(s) not in the "
			    "snapshot still exist after %lld ms "
			    "(snapshot %s, now %s):\n",
			    extra.size(), ms, counts(base).c_str(),
			    counts(now).c_str());
		for (const auto &id : extra)
			std::printf("bpf_count:   %s %u %s\n",
				    t::kind_name(id.first), id.second,
				    describe(id.first, id.second).c_str());
		return 1;
	};
	return t::poll(std::chrono::milliseconds(20), step);
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
			if (std::string(argv[2]) != "-t")
				return kUsage.misuse();
			char *end = nullptr;
			timeout_ms = std::strtol(argv[3], &end, 10);
			if (*end != '\0' || timeout_ms < 0)
				return kUsage.misuse();
		}
		return settle(timeout_ms, argv[argc - 1]);
	}
	if (cmd == "-h" || cmd == "--help")
		return kUsage.help();
	return kUsage.misuse();
}
