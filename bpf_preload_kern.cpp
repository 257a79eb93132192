// SPDX-License-Identifier: GPL-2.0
//
// bpf_preload: load the iterator programs, keep one reference to each
// iterator link, and hand the links to bpffs through bpf_preload_ops so that
// every bpffs mount shows maps.debug and progs.debug.
//
// Freestanding C++20: no exceptions, no RTTI, no library, no global
// constructors. The kernel is reached through the C glue
// (bpf_preload_kernel.h); what the glue calls is in bpf_preload_core.h.

#include "bpf_preload_core.h"
#include "bpf_preload_kernel.h"
#include "freestanding.hpp"

namespace {

using namespace freestanding;

// What only module init uses goes to the kernel's init sections, freed once
// init returns; modpost reports any reference to them from resident code.
// The GNU spelling, because lambdas take it too (after the parameter list,
// a C++11 attribute would belong to the lambda's type).
//
// The section alone, as the kernel's own __init is on kernels built by
// gcc < 14, whose compiler_types.h defines __cold away: g++ 12 emits no
// -falign-functions alignment for a cold function (GCC PR 88345), and
// arm64's ftrace with call ops needs each patchable entry 8-byte aligned.
// Marked cold too, this code crashed bookworm's arm64 6.12 at insmod:
// ftrace_call_adjust() rejects a misaligned site as 0, and
// ftrace_init_nop() then writes to ALIGN_DOWN(0 - 12, 8), BUG() in
// patch_map(). Like the kernel's __init functions, these stay traceable.
#define INIT __attribute__((section(".init.text")))
#define INITCONST __attribute__((section(".init.rodata")))

#ifdef BPF_PRELOAD_FAULT_INJECT
// Only the fault-injecting test build compares strings.
INIT constexpr bool equal(const char *a, const char *b)
{
	for (; *a != '\0' && *a == *b; a++, b++)
		;
	return *a == *b;
}
#endif

// -- Steps -----------------------------------------------------------------

// A step of module init that can fail: `id` names it to the fault-injecting
// test build, `what` names it in the error message. The names are arrays,
// not pointers to string literals, so that they are in the steps themselves
// and go with them to init memory: no attribute places a literal.
struct Step {
	char id[12];
	char what[32];
};

INITCONST constexpr Step kBtf = {.id = "btf", .what = "load BTF"};
INITCONST constexpr Step kRodata = {.id = "rodata",
				    .what = "create iterator.rodata"};
INITCONST constexpr Step kIds = {.id = "ids", .what = "find vmlinux BTF ids"};
INITCONST constexpr Step kLoad[BPF_PRELOAD_LINKS] = {
	{.id = "load_map", .what = "load dump_bpf_map"},
	{.id = "load_prog", .what = "load dump_bpf_prog"},
};
INITCONST constexpr Step kAttach[BPF_PRELOAD_LINKS] = {
	{.id = "attach_map", .what = "attach dump_bpf_map"},
	{.id = "attach_prog", .what = "attach dump_bpf_prog"},
};
INITCONST constexpr Step kLinkGet[BPF_PRELOAD_LINKS] = {
	{.id = "link_map", .what = "get link of dump_bpf_map"},
	{.id = "link_prog", .what = "get link of dump_bpf_prog"},
};
INITCONST constexpr Step kRegister = {.id = "register",
				      .what = "register bpf_preload_ops"};

#ifdef BPF_PRELOAD_FAULT_INJECT
// Test build only: fails the step named by the fault_step module parameter
// with -fault_errno (1..MAX_ERRNO, checked by the glue), before the step
// does anything.
[[nodiscard]] INIT ErrorOr<void> injected_fault(const Step &step)
{
	if (bpf_preload_fault_step &&
	    equal(bpf_preload_fault_step, &step.id[0]))
		return Error{.step = &step.what[0],
			     .code = -bpf_preload_fault_errno};
	return {};
}
#else
[[nodiscard]] INIT inline ErrorOr<void> injected_fault(const Step & /*step*/)
{
	return {};
}
#endif

// Runs one step: `call` returns a value >= 0 or a negative errno.
template <typename Call>
[[nodiscard]] INIT ErrorOr<int> attempt(const Step &step, Call call)
{
	TRY(injected_fault(step));
	int ret = call();
	if (ret < 0)
		return Error{.step = &step.what[0], .code = ret};
	return ret;
}

// -- Owners ----------------------------------------------------------------

// One reference on a bpf_link, dropped when the owner goes away.
class LinkRef {
public:
	LinkRef() = default;
	INIT explicit LinkRef(bpf_link *link) : link_(link) {}
	INIT LinkRef(LinkRef &&other) noexcept
	    : link_(exchange(other.link_, nullptr))
	{
	}
	INIT LinkRef &operator=(LinkRef &&other) noexcept
	{
		reset(exchange(other.link_, nullptr));
		return *this;
	}
	LinkRef(const LinkRef &) = delete;
	LinkRef &operator=(const LinkRef &) = delete;
	~LinkRef() { reset(nullptr); }

	[[nodiscard]] INIT static ErrorOr<LinkRef> from_fd(const Step &step,
							   int fd)
	{
		bpf_link *link = nullptr;
		TRY(attempt(step, [&]() INIT {
			return bpf_preload_link_get(fd, &link);
		}));
		return LinkRef(link);
	}

	[[nodiscard]] bpf_link *get() const { return link_; }

private:
	void reset(bpf_link *link)
	{
		if (link_)
			bpf_link_put(link_);
		link_ = link;
	}

	bpf_link *link_ = nullptr;
};

// One fd this task got from a bpf() command, closed when the owner goes.
// -1 is "none": fd 0 can be ours, as it is free in init's context at
// late_initcall.
class Fd {
public:
	INIT explicit Fd(int fd) : fd_(fd) {}
	INIT Fd(Fd &&other) noexcept : fd_(exchange(other.fd_, -1)) {}
	Fd &operator=(Fd &&) = delete;
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	INIT ~Fd()
	{
		// clang-tidy's analyzer runs this destructor when the TRY
		// in `const Fd fd = TRY(...)` returns before fd is
		// initialised; g++ and clang++ do not (checked): a false
		// positive.
		// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
		if (fd_ >= 0)
			close_fd(static_cast<unsigned int>(fd_));
	}

	// Runs a step that returns a new fd.
	template <typename Call>
	[[nodiscard]] INIT static ErrorOr<Fd> from(const Step &step, Call call)
	{
		return Fd(TRY(attempt(step, call)));
	}

	[[nodiscard]] INIT int get() const { return fd_; }

private:
	int fd_;
};

// The two links bpffs pins, in bpf_preload_info order.
struct PreloadLinks {
	LinkRef link[BPF_PRELOAD_LINKS];
};

// A name as bpf_preload_info holds it: the whole array, NUL-padded.
using LinkName = char[sizeof(bpf_preload_info::link_name)];

constexpr LinkName kLinkNames[BPF_PRELOAD_LINKS] = {"maps.debug",
						    "progs.debug"};

#ifdef BPF_PRELOAD_FAULT_INJECT
// Test build: fault_lockdown=1 loads as under lockdown=confidentiality, on
// any kernel.
INIT bool lockdown_simulated()
{
	return bpf_preload_fault_lockdown;
}
#else
INIT constexpr bool lockdown_simulated()
{
	return false;
}
#endif

// Loads and attaches both iterators (bpf_preload_loader.c) and returns a
// reference on each link. Every fd this created in the calling task is
// closed on return, success or not: the references keep links, programs
// and the rodata map alive. Without btf_names, progs.debug prints
// aux->name instead of the name from BTF.
[[nodiscard]] INIT ErrorOr<PreloadLinks> load_links(bool btf_names)
{
	const Fd btf = TRY(
		Fd::from(kBtf, []() INIT { return bpf_preload_load_btf(); }));
	const Fd rodata = TRY(Fd::from(kRodata, [&]() INIT {
		return bpf_preload_load_rodata(btf_names);
	}));
	bpf_preload_ids ids{};
	TRY(attempt(kIds, [&]() INIT { return bpf_preload_find_ids(&ids); }));

	PreloadLinks links;
	for (int i = 0; i < BPF_PRELOAD_LINKS; i++) {
		const Fd prog = TRY(Fd::from(kLoad[i], [&]() INIT {
			return bpf_preload_load_prog(i, btf.get(), rodata.get(),
						     &ids);
		}));
		const Fd link = TRY(Fd::from(kAttach[i], [&]() INIT {
			return bpf_preload_link_create(prog.get());
		}));
		links.link[i] = TRY(LinkRef::from_fd(kLinkGet[i], link.get()));
	}
	return links;
}

// -- Module state ----------------------------------------------------------

constinit struct bpf_preload_ops ops = {.preload = bpf_preload_fill,
					.owner = nullptr};

// Everything the module holds from init to exit: a reference on each link
// bpffs pins, and our ops while they are published. The ops are cleared
// before the links they hand out are dropped.
class Module {
public:
	INIT explicit Module(PreloadLinks &&links) : links_(move(links)) {}
	Module(const Module &) = delete;
	Module &operator=(const Module &) = delete;
	Module(Module &&) = delete;
	Module &operator=(Module &&) = delete;
	~Module()
	{
		if (published_)
			bpf_preload_ops_cmpxchg(&ops, nullptr);
	}

	// Publishes our ops unless someone else's are there: the kernel's own
	// preload code would overwrite them silently, we refuse with -EBUSY.
	[[nodiscard]] INIT ErrorOr<void> publish()
	{
		ops.owner = bpf_preload_this_module();
		TRY(attempt(kRegister, []() INIT {
			return bpf_preload_ops_cmpxchg(nullptr, &ops)
				       ? -BPF_PRELOAD_EBUSY
				       : 0;
		}));
		published_ = true;
		return {};
	}

	[[nodiscard]] bpf_link *link(int i) const
	{
		return links_.link[i].get();
	}

private:
	PreloadLinks links_;
	bool published_ = false;
};

// The module's state between init and exit; bpffs reads the links from
// here once the ops are published.
constinit ManualLifetime<Module> state;

void copy_name(LinkName &dst, const LinkName &src)
{
	for (unsigned int i = 0; i < sizeof(dst); i++)
		dst[i] = src[i];
}

// Where the kernel refuses BPF programs reads of its memory
// (lockdown=confidentiality), the iterators go without BTF names, and a
// load that serves says so in one line.
[[nodiscard]] INIT ErrorOr<void> init()
{
	const bool btf_names =
		!lockdown_simulated() && !bpf_preload_bpf_reads_locked_down();
	// bpffs may call bpf_preload_fill() as soon as the ops are published,
	// so the links are in place first.
	Module &loaded = state.emplace(TRY(load_links(btf_names)));
	if (const ErrorOr<void> published = loaded.publish();
	    published.is_error()) {
		state.reset();
		return published.error();
	}
	if (!btf_names)
		bpf_preload_note_lockdown();
	return {};
}

} // namespace

// Called by bpffs, under its preload mutex and with a reference on our
// module, to learn which links to pin into a new mount.
int bpf_preload_fill(bpf_preload_info *info)
{
	for (int i = 0; i < BPF_PRELOAD_LINKS; i++) {
		copy_name(info[i].link_name, kLinkNames[i]);
		info[i].link = state.get().link(i);
	}
	return 0;
}

INIT int bpf_preload_init(void)
{
	const ErrorOr<void> result = init();
	if (!result.is_error())
		return 0;
	bpf_preload_report(result.error().step, result.error().code);
	return result.error().code;
}

void bpf_preload_exit(void)
{
	// The module loader only gets here with no reference held on us, so
	// no bpf_preload_fill() call is in flight.
	state.reset();
}
