// lockdown_probe: can a light skeleton's loader program load here?
//
//   lockdown_probe allowed|refused
//        loads two BPF_PROG_TYPE_SYSCALL programs, the type of a light
//        skeleton's loader: one that begins as every loader libbpf generates
//        does (bpftool gen skeleton -L, the kernel's C module's included;
//        ours loads without a loader program), zeroing its stack with
//        bpf_probe_read_kernel() from NULL; and the same program
//        without that call. The second must always load. The first must load
//        when "allowed", and be refused by the verifier when "refused"
//        (EINVAL; "unknown func" or "cannot use helper"
//        bpf_probe_read_kernel, by kernel version): lockdown
//        "confidentiality" takes the helper away from every program, so no
//        light skeleton can load there, whatever its own programs do.
//        Exit status 0 when both outcomes are the expected ones.

#include "common.hpp"

#include <bpf/bpf.h>
#include <cstring>
#include <linux/filter.h>
#include <vector>

namespace {

using t::insn;
using t::kExit;
using t::kMov;

constexpr t::Usage kUsage{"usage: lockdown_probe allowed|refused\n"};

constexpr __u8 kMovReg = BPF_ALU64 | BPF_MOV | BPF_X;
constexpr __u8 kAdd = BPF_ALU64 | BPF_ADD; // | BPF_K, which is 0
constexpr __u8 kCall = BPF_JMP | BPF_CALL;

// r1 = r10; r1 += -8; r2 = 8; r3 = 0; call bpf_probe_read_kernel:
// the loader's prologue, for an 8-byte stack.
std::vector<bpf_insn> program(bool zero_stack)
{
	std::vector<bpf_insn> insns;
	if (zero_stack)
		insns = {insn(kMovReg, 1, 10, 0), insn(kAdd, 1, 0, -8),
			 insn(kMov, 2, 0, 8), insn(kMov, 3, 0, 0),
			 insn(kCall, 0, 0, BPF_FUNC_probe_read_kernel)};
	insns.push_back(insn(kMov, 0, 0, 0));
	insns.push_back(insn(kExit, 0, 0, 0));
	return insns;
}

struct Loaded {
	t::Fd fd;
	int err = 0;
	std::string log;
};

Loaded load(bool zero_stack)
{
	const std::vector<bpf_insn> insns = program(zero_stack);
	std::string log(16384, '\0');
	bpf_prog_load_opts opts{};
	opts.sz = sizeof(opts);
	opts.prog_flags = BPF_F_SLEEPABLE; // as the loader is loaded
	opts.log_level = 1;
	opts.log_buf = log.data();
	opts.log_size = static_cast<__u32>(log.size());
	const int fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "lockdown_probe",
				     "GPL", insns.data(), insns.size(), &opts);
	const int err = fd < 0 ? errno : 0;
	log.resize(std::strlen(log.data()));
	return Loaded{.fd = t::Fd(fd), .err = err, .log = std::move(log)};
}

// The verifier's refusal of the helper: "unknown func ..." (6.1), "program
// of this type cannot use helper ..." (6.12 and later).
bool refused_helper(const std::string &log)
{
	return log.find("unknown func bpf_probe_read_kernel#") !=
		       std::string::npos ||
	       log.find("cannot use helper bpf_probe_read_kernel#") !=
		       std::string::npos;
}

} // namespace

int main(int argc, char **argv)
{
	const std::string_view mode = argc == 2 ? argv[1] : "";
	if (mode == "-h" || mode == "--help")
		return kUsage.help();
	if (mode != "allowed" && mode != "refused")
		return kUsage.misuse();

	t::Checks checks("lockdown_probe");
	checks.set_verbose();
	const Loaded plain = load(false);
	checks.expect_ok(
		plain.fd.get(), plain.err,
		"a syscall program without bpf_probe_read_kernel loads");

	const Loaded loader = load(true);
	if (mode == "allowed") {
		checks.expect_ok(
			loader.fd.get(), loader.err,
			"the loader's prologue (bpf_probe_read_kernel) "
			"loads");
	} else {
		std::printf("lockdown_probe: verifier log: %s\n",
			    t::visible(loader.log).c_str());
		checks.expect(loader.fd.get() < 0 && loader.err == EINVAL &&
				      refused_helper(loader.log),
			      "the loader's prologue is refused: %s, the "
			      "verifier refuses bpf_probe_read_kernel",
			      loader.fd.get() < 0
				      ? t::errstr(loader.err).c_str()
				      : "loaded");
	}
	return checks.finish();
}
