// kmod_fds: load a kernel module with finit_module(2) and prove that the
// module's init left no file descriptor behind in the loading task (this
// process: a module's init runs in the context of the task that loads it,
// and the module's loader, bpf_preload_loader.c, creates its BPF fds
// there) nor in pid 1.
//
//   kmod_fds [-e ERRNO_NAME|-a] [-p PARAMS] [-z] [-f] [-n N] PATH
//        -e  loading must fail with this errno (e.g. ENOMEM); default: it
//            must succeed
//        -a  any outcome, success or failure, is accepted (the fd tables
//            are still checked); prints "outcome: loaded" or
//            "outcome: ERRNO_NAME"
//        -p  module parameters, e.g. "fault_step=load fault_errno=22"
//        -z  free fds 0, 1 and 2 around finit_module, as in the init task
//            at late_initcall before it has a console: the module's first
//            fds are then 0, 1 and 2
//        -f  set /proc/self/make-it-fail for the duration of finit_module
//            only: the kernel's fault injection (failslab, fail_function
//            with task-filter=Y) then fails allocations of this load alone
//        -n N  write N to /proc/self/fail-nth right before finit_module: the
//            Nth fault injection point this task reaches fails; prints
//            "fail-nth: N set, M points reached" (M = N - what is left, so
//            a large N counts the points of a load)
//   kmod_fds --self-test
//        check that the fd table comparison notices an fd that appears
//
// Reads /proc/self/fd and /proc/1/fd (number -> link target) right before
// and right after finit_module; exit 0 only if the load had the expected
// result and both tables are identical.

#include "common.hpp"

#include <cstdlib>
#include <dirent.h>
#include <map>
#include <string>

namespace {

constexpr t::Usage kUsage{
	"usage: kmod_fds [-e ERRNO_NAME|-a] [-p PARAMS] [-z] [-f] PATH\n"
	"       kmod_fds --self-test\n"};

using FdTable = std::map<int, std::string>;

FILE *out = stdout;
FILE *err = stderr;

// "kmod_fds: WHAT: ERROR" for errno on the (saved) stderr; false.
bool failed(const char *what)
{
	std::fprintf(err, "kmod_fds: %s: %s\n", what, t::errstr(errno).c_str());
	return false;
}

// One of /proc/self's fault injection files, or -1 (with a message).
int open_fault_file(const char *path, int flags)
{
	const int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		failed(path);
	return fd;
}

// Writes `value` at the start of a fault injection file.
bool set_fault(int fd, const std::string &value, const char *what)
{
	return pwrite(fd, value.data(), value.size(), 0) ==
		       static_cast<ssize_t>(value.size()) ||
	       failed(what);
}

// Every fd of `dir` (/proc/<pid>/fd) with its link target, except the fd
// of the directory stream itself when listing our own table.
bool fd_table(const char *dir, FdTable &table)
{
	table.clear();
	DIR *d = opendir(dir);
	if (!d) {
		std::fprintf(err, "kmod_fds: opendir %s: %s\n", dir,
			     t::errstr(errno).c_str());
		return false;
	}
	const int self = std::string(dir) == "/proc/self/fd" ? dirfd(d) : -1;
	while (dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		const int fd =
			static_cast<int>(std::strtol(e->d_name, nullptr, 10));
		if (fd == self)
			continue;
		char target[512];
		const ssize_t n = readlinkat(dirfd(d), e->d_name, target,
					     sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		table[fd] = n < 0 ? "(unreadable)" : target;
	}
	closedir(d);
	return true;
}

std::string show(const FdTable &table)
{
	std::string s;
	for (const auto &[fd, target] : table)
		s += (s.empty() ? "" : ", ") + std::to_string(fd) + " -> " +
		     target;
	return s.empty() ? "(none)" : s;
}

// Reports every difference; true if there is none.
bool same(const char *what, const FdTable &before, const FdTable &after)
{
	bool ok = true;
	for (const auto &[fd, target] : after) {
		auto b = before.find(fd);
		if (b == before.end()) {
			std::fprintf(err, "kmod_fds: %s: new fd %d -> %s\n",
				     what, fd, target.c_str());
			ok = false;
		} else if (b->second != target) {
			std::fprintf(
				err, "kmod_fds: %s: fd %d was %s, now %s\n",
				what, fd, b->second.c_str(), target.c_str());
			ok = false;
		}
	}
	for (const auto &[fd, target] : before)
		if (!after.contains(fd)) {
			std::fprintf(err, "kmod_fds: %s: fd %d -> %s closed\n",
				     what, fd, target.c_str());
			ok = false;
		}
	return ok;
}

// Keeps stdout and stderr reachable while fds 0-2 are closed.
bool free_std_fds()
{
	const int o = fcntl(1, F_DUPFD_CLOEXEC, 10);
	const int e = fcntl(2, F_DUPFD_CLOEXEC, 10);
	if (o < 0 || e < 0)
		return false;
	std::fflush(stdout);
	std::fflush(stderr);
	out = fdopen(o, "w");
	err = fdopen(e, "w");
	if (!out || !err)
		return false;
	std::setvbuf(out, nullptr, _IOLBF, 0);
	std::setvbuf(err, nullptr, _IONBF, 0);
	close(0);
	close(1);
	close(2);
	return true;
}

int self_test()
{
	if (!free_std_fds())
		return 1;
	FdTable before;
	FdTable after;
	if (!fd_table("/proc/self/fd", before))
		return 1;
	const int fd = open("/dev/null", O_RDONLY);
	const bool noticed = fd_table("/proc/self/fd", after) &&
			     !same("self-test", before, after);
	close(fd);
	const bool clean = fd_table("/proc/self/fd", after) &&
			   same("self-test", before, after);
	std::fprintf(out,
		     "kmod_fds: self-test: fd %d opened: %s; closed again: "
		     "%s\n",
		     fd, noticed ? "noticed" : "NOT NOTICED",
		     clean ? "same table" : "DIFFERENT TABLE");
	return fd == 0 && noticed && clean ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	if (argc == 2 && std::string(argv[1]) == "--self-test")
		return self_test();
	std::string expect;
	std::string params;
	bool free_fds = false;
	bool any = false;
	bool make_it_fail = false;
	long fail_nth = 0;
	int opt = 0;
	while ((opt = getopt(argc, argv, "e:ap:zfn:")) != -1) {
		switch (opt) {
		case 'n':
			fail_nth = std::strtol(optarg, nullptr, 10);
			if (fail_nth <= 0)
				return kUsage.misuse();
			break;
		case 'e':
			expect = optarg;
			break;
		case 'a':
			any = true;
			break;
		case 'f':
			make_it_fail = true;
			break;
		case 'p':
			params = optarg;
			break;
		case 'z':
			free_fds = true;
			break;
		default:
			return kUsage.misuse();
		}
	}
	if (optind + 1 != argc)
		return kUsage.misuse();
	// Opened before the snapshots, so they are in both.
	const t::ModuleFile ko("kmod_fds", argv[optind]);
	if (!ko.ok())
		return 1;
	const int fail_fd =
		make_it_fail
			? open_fault_file("/proc/self/make-it-fail", O_WRONLY)
			: -1;
	if (make_it_fail && fail_fd < 0)
		return 1;
	const int nth_fd =
		fail_nth != 0 ? open_fault_file("/proc/self/fail-nth", O_RDWR)
			      : -1;
	if (fail_nth != 0 && nth_fd < 0)
		return 1;
	if (free_fds && !free_std_fds()) {
		std::fprintf(stderr, "kmod_fds: cannot free fds 0-2\n");
		return 1;
	}

	FdTable self_before;
	FdTable self_after;
	FdTable init_before;
	FdTable init_after;
	if (!fd_table("/proc/self/fd", self_before) ||
	    !fd_table("/proc/1/fd", init_before))
		return 1;
	if (fail_fd >= 0 && !set_fault(fail_fd, "1", "make-it-fail"))
		return 1;
	if (nth_fd >= 0 &&
	    !set_fault(nth_fd, std::to_string(fail_nth), "fail-nth"))
		return 1;
	const long rc = ko.load(params.c_str());
	const int load_err = errno;
	long nth_left = 0;
	if (nth_fd >= 0) {
		char buf[32] = {};
		const bool read_ok =
			pread(nth_fd, buf, sizeof(buf) - 1, 0) > 0 ||
			failed("fail-nth");
		if (!read_ok || !set_fault(nth_fd, "0", "fail-nth"))
			return 1;
		nth_left = std::strtol(buf, nullptr, 10);
	}
	if (fail_fd >= 0 && !set_fault(fail_fd, "0", "make-it-fail"))
		return 1;
	if (!fd_table("/proc/self/fd", self_after) ||
	    !fd_table("/proc/1/fd", init_after))
		return 1;
	if (fail_fd >= 0)
		close(fail_fd);
	if (nth_fd >= 0) {
		close(nth_fd);
		std::fprintf(
			out,
			"kmod_fds: fail-nth: %ld set, %ld points reached\n",
			fail_nth, fail_nth - nth_left);
	}

	bool ok = true;
	std::string got = "success";
	if (rc != 0) {
		const char *name = strerrorname_np(load_err);
		got = name ? name : std::to_string(load_err);
	}
	std::fprintf(out, "kmod_fds: finit_module %s%s%s: %s\n", ko.path(),
		     params.empty() ? "" : " ", params.c_str(),
		     rc == 0 ? "loaded" : t::errstr(load_err).c_str());
	const std::string want = expect.empty() ? "success" : expect;
	if (any) {
		std::fprintf(out, "kmod_fds: outcome: %s\n",
			     rc == 0 ? "loaded" : got.c_str());
	} else if (got != want) {
		std::fprintf(err, "kmod_fds: expected %s, got %s\n",
			     want.c_str(), got.c_str());
		ok = false;
	}
	if (same("loading task", self_before, self_after))
		std::fprintf(out,
			     "kmod_fds: loading task's fds unchanged: %s\n",
			     show(self_after).c_str());
	else
		ok = false;
	if (same("pid 1", init_before, init_after))
		std::fprintf(out, "kmod_fds: pid 1's fds unchanged: %s\n",
			     show(init_after).c_str());
	else
		ok = false;
	return ok ? 0 : 1;
}
