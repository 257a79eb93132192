// Small helpers shared by the bpf_preload test programs.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <thread>
#include <type_traits>
#include <unistd.h>

#include <linux/bpf.h>

namespace t {

// One BPF instruction without an offset, for the tests' hand-written
// programs.
constexpr bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s32 imm)
{
	return {.code = code,
		.dst_reg = dst,
		.src_reg = src,
		.off = 0,
		.imm = imm};
}
constexpr __u8 kMov = BPF_ALU64 | BPF_MOV | BPF_K; // dst = imm
constexpr __u8 kExit = BPF_JMP | BPF_EXIT;

// "ENOENT (No such file or directory)"
inline std::string errstr(int err)
{
	const char *name = strerrorname_np(err);
	const std::string s = name ? name : ("errno " + std::to_string(err));
	return s + " (" + strerror(err) + ")";
}

// A program's usage text: to stdout for -h/--help (exit status 0), to
// stderr for a call it does not understand (exit status 2).
struct Usage {
	const char *text;

	[[nodiscard]] int help() const
	{
		std::fputs(text, stdout);
		return 0;
	}
	[[nodiscard]] int misuse() const
	{
		std::fputs(text, stderr);
		return 2;
	}
};

// A file descriptor, closed when the owner goes away (-1: none).
class Fd {
public:
	explicit Fd(int fd) : fd_(fd) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	Fd(Fd &&) = delete;
	Fd &operator=(Fd &&) = delete;
	~Fd()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	[[nodiscard]] int get() const { return fd_; }

private:
	int fd_;
};

// The kernel module named on a command line, open for finit_module(2) as
// long as this lives; when it cannot be opened, ok() is false and
// "PROG: open PATH: ERROR" is on stderr.
class ModuleFile {
public:
	ModuleFile(const char *prog, const char *path)
	    : path_(path), fd_(open(path, O_RDONLY | O_CLOEXEC))
	{
		if (fd_.get() < 0)
			std::fprintf(stderr, "%s: open %s: %s\n", prog, path,
				     errstr(errno).c_str());
	}

	[[nodiscard]] bool ok() const { return fd_.get() >= 0; }
	[[nodiscard]] const char *path() const { return path_; }

	// finit_module(2) with these parameters: 0, or -1 and errno.
	[[nodiscard]] long load(const char *params) const
	{
		return syscall(SYS_finit_module, fd_.get(), params, 0);
	}

private:
	const char *path_;
	Fd fd_;
};

// Milliseconds since it was made.
class Stopwatch {
public:
	[[nodiscard]] long long ms() const
	{
		using namespace std::chrono;
		return duration_cast<milliseconds>(steady_clock::now() - start_)
			.count();
	}

private:
	std::chrono::steady_clock::time_point start_ =
		std::chrono::steady_clock::now();
};

// Polls for something the kernel does later (freeing objects after an RCU
// grace period or from a work queue): calls step(stopwatch) every `every`
// until it returns a value, and returns that value. The stopwatch runs from
// the first call; step decides when it has waited long enough.
template <typename Step>
auto poll(std::chrono::milliseconds every, Step step) ->
	typename std::invoke_result_t<Step, const Stopwatch &>::value_type
{
	const Stopwatch sw;
	for (;;) {
		if (auto done = step(sw))
			return *done;
		std::this_thread::sleep_for(every);
	}
}

// Counts failed checks; prints one line per failure (and, if verbose, per
// passed check) so that a failing run says exactly what went wrong.
class Checks {
public:
	explicit Checks(const char *prog) noexcept : prog_(prog) {}

	void set_verbose() { verbose_ = true; } // also report passed checks
	void set_silent() { silent_ = true; }	// report nothing, only count

	[[gnu::format(printf, 3, 4)]] bool expect(bool cond, const char *fmt,
						  ...)
	{
		va_list ap;
		if (!silent_ && (!cond || verbose_)) {
			std::fprintf(cond ? stdout : stderr, "%s: %s: ", prog_,
				     cond ? "ok" : "FAIL");
			va_start(ap, fmt);
			std::vfprintf(cond ? stdout : stderr, fmt, ap);
			va_end(ap);
			std::fputc('\n', cond ? stdout : stderr);
		}
		if (!cond)
			failures_++;
		else
			passes_++;
		return cond;
	}

	// Like expect() for a syscall-style result: rc < 0 is a failure and
	// errno (saved by the caller as err) is appended to the message.
	[[gnu::format(printf, 4, 5)]] bool expect_ok(int rc, int err,
						     const char *fmt, ...)
	{
		char msg[512];
		va_list ap;
		va_start(ap, fmt);
		std::vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if (rc < 0)
			return expect(false, "%s: %s", msg,
				      errstr(err).c_str());
		return expect(true, "%s", msg);
	}

	[[nodiscard]] int failures() const { return failures_; }
	[[nodiscard]] int passes() const { return passes_; }

	[[nodiscard]] int finish() const
	{
		if (silent_)
			return (failures_ != 0) ? 1 : 0;
		std::fprintf((failures_ != 0) ? stderr : stdout,
			     "%s: %d check(s) passed, %d failed\n", prog_,
			     passes_, failures_);
		return (failures_ != 0) ? 1 : 0;
	}

private:
	const char *prog_;
	bool verbose_ = false;
	bool silent_ = false;
	int failures_ = 0;
	int passes_ = 0;
};

// Whole content of a file read with read(2) in chunks of `chunk` bytes
// (seq_file-backed files like maps.debug are produced piecewise); nullopt
// and errno set on failure.
inline std::optional<std::string> read_file(const std::string &path,
					    size_t chunk = 4096)
{
	const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return std::nullopt;
	std::string out;
	std::string buf(chunk, '\0');
	for (;;) {
		const ssize_t n = read(fd, buf.data(), buf.size());
		if (n < 0) {
			const int err = errno;
			close(fd);
			errno = err;
			return std::nullopt;
		}
		if (n == 0)
			break;
		out.append(buf.data(), static_cast<size_t>(n));
	}
	close(fd);
	return out;
}

// The bpf() ABI passes a user pointer as a 64-bit integer, which only a
// reinterpret_cast makes of it.
inline std::uint64_t ptr_to_u64(const void *p)
{
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
	return reinterpret_cast<std::uintptr_t>(p);
}

// Running kernel's major.minor, e.g. {6, 12}.
struct KernelVersion {
	int major = 0;
	int minor = 0;
	[[nodiscard]] bool at_least(int ma, int mi) const
	{
		return major > ma || (major == ma && minor >= mi);
	}
};

inline KernelVersion running_kernel()
{
	KernelVersion v;
	struct utsname u{};
	if (uname(&u) != 0)
		return v;
	char *end = nullptr;
	v.major = static_cast<int>(std::strtol(u.release, &end, 10));
	if (*end == '.')
		v.minor = static_cast<int>(std::strtol(end + 1, nullptr, 10));
	return v;
}

// Which maps.debug layout the module prints on the running kernel; the one
// place the tests know the rule of iterators/iterators_variant.h. Kernels
// with the kfunc bpf_map_sum_elem_count (6.6+) get the counting iterators,
// which add a cur_entries column, if they can call a kfunc: that needs
// the BPF JIT on from boot (CONFIG_BPF_JIT_DEFAULT_ON), so its sysctl reads
// non-zero (no sysctl without a JIT: Debian's s390x kernels; 0 on its
// riscv64 ones). Everything else gets the plain (nocount) ones.
enum class Variant : std::uint8_t { Plain, Count };

inline Variant maps_variant()
{
	char on = '0';
	if (FILE *f = std::fopen("/proc/sys/net/core/bpf_jit_enable", "re")) {
		if (std::fread(&on, 1, 1, f) != 1)
			on = '0';
		std::fclose(f);
	}
	return running_kernel().at_least(6, 6) && on != '0' ? Variant::Count
							    : Variant::Plain;
}

inline const char *variant_name(Variant v)
{
	return v == Variant::Count ? "count (6.6+)" : "plain (pre-6.6)";
}

// Printable form of a line for diagnostics: non-printables escaped, so that
// trailing spaces and stray bytes are visible.
inline std::string visible(std::string_view s)
{
	std::string out = "\"";
	for (const unsigned char c : s) {
		if (c == '"' || c == '\\') {
			out += '\\';
			out += static_cast<char>(c);
		} else if (c == '\n') {
			out += "\\n";
		} else if (c < 0x20 || c >= 0x7f) {
			char b[8];
			std::snprintf(b, sizeof(b), "\\x%02x", c);
			out += b;
		} else {
			out += static_cast<char>(c);
		}
	}
	return out + "\"";
}

} // namespace t
