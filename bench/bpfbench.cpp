// bpfbench: the in-VM half of `make bench`. Creates and pins many BPF maps
// and programs through libbpf, and times single operations with
// CLOCK_MONOTONIC, since /proc/uptime in the guest only has 10 ms steps.
//
//   bpfbench maps DIR FROM TO      create array maps m<FROM>..m<TO-1>, pin
//                                  each as DIR/m<i>
//   bpfbench progs DIR FROM TO     load socket filters p<FROM>..p<TO-1>
//                                  (r0 = 0; exit), pin each as DIR/p<i>
//   bpfbench insmod PATH           finit_module(PATH)
//   bpfbench rmmod NAME            delete_module(NAME, O_NONBLOCK)
//   bpfbench mount DIR             mount -t bpf bpf DIR
//   bpfbench umount DIR            umount DIR
//   bpfbench read FILE             open, read(64 KiB) until EOF, close
//   bpfbench exec CMD [ARG]...     run CMD with stdout into a pipe that is
//                                  read to EOF, stderr kept, until it exits
//
// Every timing subcommand prints one line "<ns> <bytes> <lines>" on stdout:
// the elapsed time of the operation alone (process start-up and argument
// parsing excluded), and for read/exec what was read. maps/progs print the
// time to create and pin all objects. Exit status 1 and a message on stderr
// when the operation fails.

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ctime>
#include <unistd.h>

namespace {

const char *prog_name = "bpfbench";

[[noreturn, gnu::format(printf, 1, 2)]] void fail(const char *fmt, ...)
{
	const int err = errno;
	va_list ap;
	std::fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
	std::fprintf(stderr, ": %s\n", std::strerror(err));
	std::exit(1);
}

std::uint64_t now_ns()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (static_cast<std::uint64_t>(ts.tv_sec) * 1000000000U) +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

void report(std::uint64_t ns, std::uint64_t bytes = 0, std::uint64_t lines = 0)
{
	std::printf("%llu %llu %llu\n", static_cast<unsigned long long>(ns),
		    static_cast<unsigned long long>(bytes),
		    static_cast<unsigned long long>(lines));
}

unsigned long number(const char *s)
{
	char *end = nullptr;
	errno = 0;
	const unsigned long v = std::strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0') {
		errno = EINVAL;
		fail("not a number: '%s'", s);
	}
	return v;
}

// Counts bytes and newlines of everything read from fd until EOF.
struct Drained {
	std::uint64_t bytes = 0;
	std::uint64_t lines = 0;
};

Drained drain(int fd, const char *what)
{
	static char buf[64 * 1024];
	Drained d;
	for (;;) {
		const ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read %s", what);
		if (n == 0)
			return d;
		d.bytes += static_cast<std::uint64_t>(n);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				d.lines++;
	}
}

std::string object_path(const char *dir, char kind, unsigned long i)
{
	char name[32];
	std::snprintf(name, sizeof(name), "%c%05lu", kind, i);
	return std::string(dir) + "/" + name;
}

// Makes objects <kind><FROM>..<kind><TO-1> with create(name), which
// returns an fd (fails with "<what> <name>" if negative), pins each as
// DIR/<name> and reports the time of it all.
template <typename Create>
int create_and_pin(const char *dir, char kind, unsigned long from,
		   unsigned long to, const char *what, Create create)
{
	const std::uint64_t start = now_ns();
	for (unsigned long i = from; i < to; i++) {
		const std::string path = object_path(dir, kind, i);
		const char *name = path.c_str() + std::strlen(dir) + 1;
		const int fd = create(name);
		if (fd < 0)
			fail("%s %s", what, name);
		if (bpf_obj_pin(fd, path.c_str()) != 0)
			fail("pin %s", path.c_str());
		close(fd);
	}
	report(now_ns() - start);
	return 0;
}

// Times call() alone, which succeeds when it returns 0 (else fails with
// "<what> <arg>"), and reports it.
template <typename Call> int timed(const char *what, const char *arg, Call call)
{
	const std::uint64_t start = now_ns();
	const long rc = call();
	const std::uint64_t ns = now_ns() - start;
	if (rc != 0)
		fail("%s %s", what, arg);
	report(ns);
	return 0;
}

int cmd_maps(const char *dir, unsigned long from, unsigned long to)
{
	return create_and_pin(
		dir, 'm', from, to, "create map", [](const char *name) {
			return bpf_map_create(
				BPF_MAP_TYPE_ARRAY, name, sizeof(std::uint32_t),
				sizeof(std::uint64_t), 1, nullptr);
		});
}

int cmd_progs(const char *dir, unsigned long from, unsigned long to)
{
	// r0 = 0; exit
	const bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K,
		 .dst_reg = BPF_REG_0,
		 .src_reg = 0,
		 .off = 0,
		 .imm = 0},
		{.code = BPF_JMP | BPF_EXIT,
		 .dst_reg = 0,
		 .src_reg = 0,
		 .off = 0,
		 .imm = 0},
	};
	return create_and_pin(
		dir, 'p', from, to, "load program", [&insns](const char *name) {
			return bpf_prog_load(
				BPF_PROG_TYPE_SOCKET_FILTER, name, "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), nullptr);
		});
}

int cmd_insmod(const char *path)
{
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open %s", path);
	timed("finit_module", path,
	      [fd] { return syscall(SYS_finit_module, fd, "", 0); });
	close(fd);
	return 0;
}

int cmd_rmmod(const char *name)
{
	return timed("delete_module", name, [name] {
		return syscall(SYS_delete_module, name, O_NONBLOCK);
	});
}

int cmd_mount(const char *dir)
{
	return timed("mount bpf on", dir,
		     [dir] { return mount("bpf", dir, "bpf", 0, nullptr); });
}

int cmd_umount(const char *dir)
{
	return timed("umount", dir, [dir] { return umount(dir); });
}

int cmd_read(const char *path)
{
	const std::uint64_t start = now_ns();
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open %s", path);
	const Drained d = drain(fd, path);
	close(fd);
	report(now_ns() - start, d.bytes, d.lines);
	return 0;
}

int cmd_exec(char **argv)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		fail("pipe");
	const std::uint64_t start = now_ns();
	const pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		if (dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		std::fprintf(stderr, "%s: exec %s: %s\n", prog_name, argv[0],
			     std::strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	const Drained d = drain(pipefd[0], argv[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid");
	const std::uint64_t ns = now_ns() - start;
	close(pipefd[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		errno = ECHILD;
		fail("%s exited with status %d", argv[0], status);
	}
	report(ns, d.bytes, d.lines);
	return 0;
}

[[noreturn]] void usage()
{
	std::fprintf(stderr,
		     "usage: bpfbench maps|progs DIR FROM TO\n"
		     "       bpfbench insmod PATH | rmmod NAME\n"
		     "       bpfbench mount DIR | umount DIR | read FILE\n"
		     "       bpfbench exec CMD [ARG]...\n");
	std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	if (argc < 3)
		usage();
	const std::string_view cmd = argv[1];
	if ((cmd == "maps" || cmd == "progs") && argc == 5) {
		const unsigned long from = number(argv[3]);
		const unsigned long to = number(argv[4]);
		if (cmd == "maps")
			return cmd_maps(argv[2], from, to);
		return cmd_progs(argv[2], from, to);
	}
	if (cmd == "exec")
		return cmd_exec(argv + 2);
	if (argc != 3)
		usage();
	if (cmd == "insmod")
		return cmd_insmod(argv[2]);
	if (cmd == "rmmod")
		return cmd_rmmod(argv[2]);
	if (cmd == "mount")
		return cmd_mount(argv[2]);
	if (cmd == "umount")
		return cmd_umount(argv[2]);
	if (cmd == "read")
		return cmd_read(argv[2]);
	usage();
}
