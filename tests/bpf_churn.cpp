// bpf_churn: create and destroy BPF programs and maps, to race readers of
// maps.debug and progs.debug, and hold some to check the leak checks.
//
//   bpf_churn [-w WINDOW] N
//        create N array maps ("churn_map") and N socket filter programs
//        ("churn_prog"), keeping at most WINDOW (default 16) of each alive:
//        each new one replaces the oldest. All are closed at the end.
//   bpf_churn hold
//        create one map and one program, print "bpf_churn: holding ...",
//        keep them until stdin reaches end of file, then close them.

#include "bpf_ids.hpp"

#include <cstdlib>
#include <linux/bpf.h>
#include <string>
#include <vector>

namespace {

constexpr t::Usage kUsage{"usage: bpf_churn [-w WINDOW] N\n"
			  "       bpf_churn hold\n"};

int new_map()
{
	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "churn_map", sizeof(__u32),
			      sizeof(__u64), 4, nullptr);
}

// r0 = 0; exit
int new_prog()
{
	bpf_insn insns[2] = {};
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
	insns[0].dst_reg = BPF_REG_0;
	insns[1].code = BPF_JMP | BPF_EXIT;
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "churn_prog", "GPL",
			     insns, 2, nullptr);
}

// The id of a map (Info bpf_map_info) or program (bpf_prog_info), 0 if
// bpf() does not say.
template <typename Info> __u32 id_of(int fd)
{
	Info info = {};
	return t::get_info(fd, info) == 0 ? info.id : 0;
}

int churn(long n, long window)
{
	std::vector<int> maps(static_cast<size_t>(window), -1);
	std::vector<int> progs(static_cast<size_t>(window), -1);
	for (long i = 0; i < n; i++) {
		const auto slot = static_cast<size_t>(i % window);
		if (maps[slot] >= 0)
			close(maps[slot]);
		if (progs[slot] >= 0)
			close(progs[slot]);
		maps[slot] = new_map();
		if (maps[slot] < 0) {
			std::fprintf(stderr, "bpf_churn: map %ld: %s\n", i,
				     t::errstr(errno).c_str());
			return 1;
		}
		progs[slot] = new_prog();
		if (progs[slot] < 0) {
			std::fprintf(stderr, "bpf_churn: program %ld: %s\n", i,
				     t::errstr(errno).c_str());
			return 1;
		}
	}
	for (size_t i = 0; i < maps.size(); i++) {
		if (maps[i] >= 0)
			close(maps[i]);
		if (progs[i] >= 0)
			close(progs[i]);
	}
	std::printf("bpf_churn: created and destroyed %ld maps and %ld "
		    "programs, at most %ld of each alive\n",
		    n, n, window);
	return 0;
}

int hold()
{
	const int map = new_map();
	const int prog = new_prog();
	if (map < 0 || prog < 0) {
		std::fprintf(stderr, "bpf_churn: hold: %s\n",
			     t::errstr(errno).c_str());
		return 1;
	}
	std::printf("bpf_churn: holding map %u prog %u\n",
		    id_of<bpf_map_info>(map), id_of<bpf_prog_info>(prog));
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	close(map);
	close(prog);
	return 0;
}

long number(const char *s)
{
	char *end = nullptr;
	const long v = std::strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && v > 0 ? v : -1;
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	if (argc == 2 && std::string(argv[1]) == "hold")
		return hold();
	long window = 16;
	long n = -1;
	if (argc == 4 && std::string(argv[1]) == "-w") {
		window = number(argv[2]);
		n = number(argv[3]);
	} else if (argc == 2) {
		n = number(argv[1]);
	}
	if (n < 0 || window < 0)
		return kUsage.misuse();
	return churn(n, window);
}
