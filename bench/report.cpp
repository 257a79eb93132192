// report: the host half of `make bench` (bench/bench.sh). The report of one
// kernel, in Markdown on stdout, from the lines bench/vm-bench.sh printed on
// the guest's console:
//
//   report DIR ABI NAME LOAD
//
// DIR as bench.sh leaves it: vm.log (the console), root/bench/config
// (ROUNDS MAPS PROGS SWEEP REPS PROFILE), root/bench/ours.ko and c.ko. The
// report's plot is NAME-listing.png; LOAD is the host's load average before
// the boot. Also writes the sweep's figures (N, then median, min and max in
// ms of each listing) to DIR/sweep.dat for the plot, and the figures short
// of a value in a round (or sweep repetition) to DIR/missing. Times are in
// ns, shown in ms; round 0 is vm-bench.sh's warm-up and not counted.

#include <elf.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using Num = std::optional<double>; // "-" in the report when none
using Words = std::vector<std::string>;

[[noreturn]] void fail(const std::string &msg)
{
	std::cerr << "report: " << msg << '\n';
	std::exit(1);
}

[[gnu::format(printf, 1, 2)]] std::string fmt(const char *f, ...)
{
	std::array<char, 256> buf{};
	va_list ap;
	va_start(ap, f);
	std::vsnprintf(buf.data(), buf.size(), f, ap);
	va_end(ap);
	return buf.data();
}

Words split(const std::string &s)
{
	std::istringstream in(s);
	return {std::istream_iterator<std::string>(in),
		std::istream_iterator<std::string>()};
}

double num(const std::string &s)
{
	return std::strtod(s.c_str(), nullptr);
}

// A computed median or ratio as the awk report kept it (mawk's number to
// string: integers within int's range exactly, anything else "%.6g"), so
// that reports stay comparable with the earlier ones.
std::string awk_str(double v)
{
	if (v == std::floor(v) && v > INT_MIN && v <= INT_MAX)
		return fmt("%d", static_cast<int>(v));
	return fmt("%.6g", v);
}

double awk_round(double v)
{
	return num(awk_str(v));
}

std::string str(Num v)
{
	return v ? awk_str(*v) : "-";
}

std::string ms(Num v)
{
	return v ? fmt("%.3f", *v / 1e6) : "-";
}

std::string ratio(Num a, Num b)
{
	return a && b && *b != 0 ? fmt("%.2f", *a / *b) : "-";
}

struct Stat {
	std::size_t n = 0;
	Num med, min, max;
};

// Median (of an even count the mean of the middle two, or with lower the
// lower one), minimum and maximum.
Stat stat(std::vector<double> v, bool lower = false)
{
	std::ranges::sort(v);
	const std::size_t n = v.size();
	if (n == 0)
		return {};
	const double med = n % 2 != 0 || lower
				   ? v[((n + 1) / 2) - 1]
				   : awk_round((v[(n / 2) - 1] + v[n / 2]) / 2);
	return {.n = n, .med = med, .min = v.front(), .max = v.back()};
}

std::string span(const Stat &s, bool in_ms)
{
	if (in_ms)
		return ms(s.med) + " (" + ms(s.min) + " - " + ms(s.max) + ")";
	return str(s.med) + " (" + str(s.min) + " - " + str(s.max) + ")";
}

// The target and holds cells for ratio r: "op tx | yes", "- | -" without op.
std::string target(const std::string &r, std::string_view op = {},
		   const char *t = "")
{
	if (op.empty())
		return "- | -";
	std::string holds = "-";
	if (r != "-") {
		const bool ok =
			op == "<=" ? num(r) <= num(t) : num(r) >= num(t);
		holds = ok ? "yes" : "**no**";
	}
	return std::string(op) + " " + t + "x | " + holds;
}

// One traced insmod: per function the summed time and count of its calls,
// and the time of each call (numbered from 1 in completion order).
class Insmod {
public:
	void add(const std::string &who, const std::string &f,
		 const std::string &n, double ns)
	{
		who_ = who;
		sum_[f] += ns;
		calls_[f]++;
		call_[{f, n}] = ns;
	}
	[[nodiscard]] const std::string &who() const { return who_; }
	[[nodiscard]] long calls(const std::string &f) const
	{
		const auto it = calls_.find(f);
		return it == calls_.end() ? 0 : it->second;
	}
	[[nodiscard]] double time(const std::string &f) const
	{
		const auto it = sum_.find(f);
		return it == sum_.end() ? 0 : it->second;
	}
	[[nodiscard]] double nth(const std::string &f, int n) const
	{
		const auto it = call_.find({f, std::to_string(n)});
		return it == call_.end() ? 0 : it->second;
	}
	[[nodiscard]] double load(int n) const
	{
		return nth("bpf_prog_load", n);
	}
	[[nodiscard]] double verify(int n) const { return nth("bpf_check", n); }
	[[nodiscard]] double jit(int n) const
	{
		return nth("bpf_int_jit_compile", n);
	}

private:
	std::string who_;
	std::map<std::string, double> sum_;
	std::map<std::string, long> calls_;
	std::map<std::pair<std::string, std::string>, double> call_;
};

// The steps of a traced insmod, from the summed times of the traced
// functions and the single calls of bpf_prog_load, bpf_check and
// bpf_int_jit_compile. Both modules load a BPF_PROG_TYPE_SYSCALL program
// first (#1) and the two iterators after it (#2, #3): in the C module #1 is
// the light skeleton's loader, whose run loads the others; in this module #1
// looks up vmlinux BTF ids and the module loads the iterators itself.
struct Step {
	const char *label;
	double (*value)(const Insmod &);
};

constexpr std::array<Step, 16> kSteps{{
	{.label = "module loader: checks, copy, layout, relocation, sysfs "
		  "(load_module - do_init_module)",
	 .value =
		 [](const Insmod &k) {
			 return k.time("load_module") -
				k.time("do_init_module");
		 }},
	{.label = "syscall program: verification (bpf_check #1)",
	 .value = [](const Insmod &k) { return k.verify(1); }},
	{.label = "syscall program: JIT (bpf_int_jit_compile #1)",
	 .value = [](const Insmod &k) { return k.jit(1); }},
	{.label = "syscall program: rest of its BPF_PROG_LOAD",
	 .value =
		 [](const Insmod &k) {
			 return k.load(1) - k.verify(1) - k.jit(1);
		 }},
	{.label = "BTF load (btf_new_fd)",
	 .value = [](const Insmod &k) { return k.time("btf_new_fd"); }},
	{.label = "map creation: rodata map, the C module's loader data map "
		  "(map_create)",
	 .value = [](const Insmod &k) { return k.time("map_create"); }},
	{.label = "dump_bpf_map: verification (bpf_check #2)",
	 .value = [](const Insmod &k) { return k.verify(2); }},
	{.label = "dump_bpf_map: JIT (#2)",
	 .value = [](const Insmod &k) { return k.jit(2); }},
	{.label = "dump_bpf_prog: verification (bpf_check #3)",
	 .value = [](const Insmod &k) { return k.verify(3); }},
	{.label = "dump_bpf_prog: JIT (#3)",
	 .value = [](const Insmod &k) { return k.jit(3); }},
	{.label = "iterators: rest of their BPF_PROG_LOAD",
	 .value =
		 [](const Insmod &k) {
			 return k.load(2) + k.load(3) - k.verify(2) - k.jit(2) -
				k.verify(3) - k.jit(3);
		 }},
	{.label = "attach both iterators (bpf_iter_link_attach)",
	 .value =
		 [](const Insmod &k) {
			 return k.time("bpf_iter_link_attach");
		 }},
	{.label = "close the fds of the load (close_fd)",
	 .value = [](const Insmod &k) { return k.time("close_fd"); }},
	{.label = "rest of the module's init function (syscall program's run, "
		  "map updates, module code)",
	 .value =
		 [](const Insmod &k) {
			 return k.time("do_one_initcall") -
				k.time("bpf_prog_load") - k.time("btf_new_fd") -
				k.time("map_create") -
				k.time("bpf_iter_link_attach") -
				k.time("close_fd");
		 }},
	{.label = "do_init_module after the init function",
	 .value =
		 [](const Insmod &k) {
			 return k.time("do_init_module") -
				k.time("do_one_initcall");
		 }},
	{.label = "total traced (load_module)",
	 .value = [](const Insmod &k) { return k.time("load_module"); }},
}};

std::string read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		fail("cannot read " + path);
	return {std::istreambuf_iterator<char>(in),
		std::istreambuf_iterator<char>()};
}

// `size` (Berkeley format) of a .ko, and its core: the bytes of the sections
// the module loader keeps after init (SHF_ALLOC, minus .init* and the
// metadata it drops), before the page rounding that
// /sys/module/*/coresize shows.
struct Sizes {
	unsigned long long text = 0, data = 0, bss = 0, core = 0;
};

template <typename T>
T at(const std::string &elf, std::size_t off, const std::string &path)
{
	T v{};
	if (off > elf.size() || elf.size() - off < sizeof(v))
		fail(path + ": truncated ELF file");
	std::memcpy(&v, elf.data() + off, sizeof(v));
	return v;
}

Sizes sizes(const std::string &path)
{
	const std::string elf = read_file(path);
	const auto eh = at<Elf64_Ehdr>(elf, 0, path);
	if (!elf.starts_with(ELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64)
		fail(path + ": not a 64-bit ELF file");
	const auto shdr = [&](std::size_t i) {
		return at<Elf64_Shdr>(elf, eh.e_shoff + (i * eh.e_shentsize),
				      path);
	};
	const std::size_t names = shdr(eh.e_shstrndx).sh_offset;
	Sizes s;
	for (std::size_t i = 0; i < eh.e_shnum; i++) {
		const Elf64_Shdr sh = shdr(i);
		if ((sh.sh_flags & SHF_ALLOC) == 0)
			continue;
		const std::string name =
			elf.c_str() + std::min(names + sh.sh_name, elf.size());
		if (!name.starts_with(".init") && name != "__versions" &&
		    name != ".modinfo")
			s.core += sh.sh_size;
		if ((sh.sh_flags & (SHF_EXECINSTR | SHF_WRITE)) != SHF_WRITE)
			s.text += sh.sh_size;
		else if (sh.sh_type != SHT_NOBITS)
			s.data += sh.sh_size;
		else
			s.bss += sh.sh_size;
	}
	return s;
}

struct Config {
	std::string rounds, maps, progs, sweep, reps, profile;
};

// bench.sh's config: KEY=VALUE lines, SWEEP's value in double quotes.
Config read_config(const std::string &path)
{
	std::map<std::string, std::string> v;
	std::istringstream in(read_file(path));
	for (std::string line; std::getline(in, line);) {
		const std::size_t eq = line.find('=');
		std::string value = line.substr(eq + 1);
		if (value.size() >= 2 && value.front() == '"')
			value = value.substr(1, value.size() - 2);
		if (eq != std::string::npos)
			v[line.substr(0, eq)] = value;
	}
	return {.rounds = v["ROUNDS"],
		.maps = v["MAPS"],
		.progs = v["PROGS"],
		.sweep = v["SWEEP"],
		.reps = v["REPS"],
		.profile = v["PROFILE"]};
}

class Report {
public:
	Report(Config c, std::string dir)
	    : cfg_(std::move(c)), dir_(std::move(dir))
	{
	}
	void read_log();
	void header(const std::string &abi, const std::string &load) const;
	void main_table();
	void bpftool_table();
	void size_table() const;
	void profile_tables() const;
	void sweep_tables(const std::string &png);
	void write_missing();

private:
	struct Median {
		Num time;
		std::string calls = "-";
	};
	Stat need(const std::string &key, const std::string &who,
		  const std::string &count, const std::string &prefix = "");
	void row(const std::string &fig, const char *label, bool in_ms,
		 std::string_view op = {}, const char *t = "");
	[[nodiscard]] Median prof_median(const std::string &who,
					 const std::string &f) const;

	Config cfg_;
	std::string dir_;
	std::string missed_;
	std::string notes_;
	Words funcs_;
	// V: the values of a figure (or sweep point) and module in order,
	// R: by round (or repetition), as vm-bench.sh's BENCH and SWEEP lines.
	std::map<std::pair<std::string, std::string>, std::vector<double>>
		values_;
	std::map<std::tuple<std::string, std::string, std::string>, double>
		rounds_;
	std::map<std::string, Insmod> traced_; // by "<module> <round>"
};

void Report::read_log()
{
	std::istringstream in(read_file(dir_ + "/vm.log"));
	for (std::string line; std::getline(in, line);) {
		const Words w = split(line);
		const auto field = [&w](std::size_t i) {
			return i < w.size() ? w[i] : "";
		};
		const std::string kind = field(0);
		if ((kind == "BENCH" && num(field(3)) > 0) || kind == "SWEEP") {
			if (w.size() > 4)
				values_[{w[1], w[2]}].push_back(num(w[4]));
			rounds_[{field(1), field(2), field(3)}] = num(field(4));
		} else if (kind == "PROF") {
			traced_[field(1) + " " + field(2)].add(
				field(1), field(3), field(4), num(field(5)));
		} else if (kind == "PROFFUNCS") {
			funcs_ = split(line.substr(std::min<std::size_t>(
				line.size(), std::strlen("PROFFUNCS "))));
		} else if (kind == "NOTE") {
			notes_ +=
				"- " + line.substr(std::strlen("NOTE ")) + "\n";
		}
	}
}

void Report::header(const std::string &abi, const std::string &load) const
{
	std::array<char, 16> date{};
	const std::time_t now = std::time(nullptr);
	std::tm tm{};
	std::strftime(date.data(), date.size(), "%F", gmtime_r(&now, &tm));
	const Words after = split(read_file("/proc/loadavg"));
	std::cout
		<< "# bpf_preload bench: Debian " << abi << "\n\nMeasured "
		<< date.data() << " by `make bench` in one boot of " << abi
		<< " under\n"
		<< "QEMU **TCG** (software emulation, no KVM: times are "
		   "emulated, several\n"
		   "times slower than hardware; compare the ratios, which come "
		   "from the\n"
		   "two modules measured alternately in the same boot).\n"
		<< cfg_.rounds
		<< " rounds; each round loads this module and the kernel's own "
		   "C module\n"
		   "(kernel/bpf/preload from Debian's linux-source package, "
		   "built out of\n"
		   "tree) one after the other, order alternating, with "
		<< cfg_.maps << " maps and " << cfg_.progs
		<< "\nprograms pinned. Times in ms (median, min, max over the "
		   "rounds).\n"
		   "Ratio = this module / C module (lower is better): of the "
		   "medians; \"paired\"\n"
		   "is the median of the per-round ratios (the two modules ran "
		   "back to back),\n"
		   "\"min\" the ratio of the minimums. Targets are judged on "
		   "the "
		   "ratio of the\n"
		   "minimums: the host is shared with other work (load average "
		<< load << "\nbefore the run, " << after.at(0) << " "
		<< after.at(1) << " " << after.at(2)
		<< " after), its interference only ever adds time,\n"
		   "and the minimum is the run it disturbed least; the medians "
		   "and the paired\n"
		   "ratio show how much it disturbed.\n\n";
}

// The stat of the values of key and who, noted as missing unless it holds count
// values.
Stat Report::need(const std::string &key, const std::string &who,
		  const std::string &count, const std::string &prefix)
{
	const Stat s = stat(values_[{key, who}]);
	if (static_cast<double>(s.n) != num(count))
		missed_ += " " + prefix + key + "/" + who;
	return s;
}

// A row of the main table. "paired": the median over rounds of this
// module's value divided by the C module's of the same round (the two ran
// back to back, so slow phases of a shared host hit both).
void Report::row(const std::string &fig, const char *label, bool in_ms,
		 std::string_view op, const char *t)
{
	const Stat a = need(fig, "ours", cfg_.rounds);
	std::vector<double> per_round;
	for (long r = 1; r <= std::lround(num(cfg_.rounds)); r++) {
		const auto c = rounds_.find({fig, "c", std::to_string(r)});
		const auto o = rounds_.find({fig, "ours", std::to_string(r)});
		if (c != rounds_.end() && c->second > 0 && o != rounds_.end())
			per_round.push_back(awk_round(o->second / c->second));
	}
	const Num paired = stat(per_round).med;
	const Stat c = need(fig, "c", cfg_.rounds);
	const std::string r = ratio(a.min, c.min);
	std::cout << "| " << label << " | " << span(a, in_ms) << " | "
		  << span(c, in_ms) << " | " << ratio(a.med, c.med) << "x | "
		  << (paired ? fmt("%.2f", *paired) : "-") << "x | " << r
		  << "x | " << target(r, op, t) << " |\n";
}

void Report::main_table()
{
	std::cout << "| figure | this module: median (min - max) | C module: "
		     "median (min - max) | ratio | paired | min | target | "
		     "holds |\n"
		     "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
	row("insmod", "insmod (finit_module)", true, "<=", "1.05");
	row("mount", "mount bpffs", true);
	row("maps_read", "read maps.debug", true, "<=", "1.05");
	row("progs_read", "read progs.debug", true, "<=", "1.05");
	row("umount", "umount", true);
	row("rmmod", "rmmod (delete_module)", true);
	row("coresize", "/sys/module/bpf_preload/coresize (bytes, whole pages)",
	    false, "<=", "1.0");
	row("maps_lines", "maps.debug lines", false);
	row("progs_lines", "progs.debug lines", false);
	const auto ours =
		static_cast<double>(sizes(dir_ + "/root/bench/ours.ko").core);
	const auto c =
		static_cast<double>(sizes(dir_ + "/root/bench/c.ko").core);
	const std::string r = ratio(ours, c);
	std::cout << "| resident sections before page rounding (bytes, from "
		     "the .ko) | "
		  << awk_str(ours) << " | " << awk_str(c) << " | " << r
		  << "x | - | - | " << target(r, "<=", "1.0") << " |\n";
}

void Report::bpftool_table()
{
	std::cout << "\nListing the same objects with bpftool (same rounds; "
		     "ratio = bpftool / this module's file, higher is "
		     "better):\n\n"
		     "| figure | median (min - max) | lines | vs this module | "
		     "target | holds |\n"
		     "| --- | --- | --- | --- | --- | --- |\n";
	for (const std::string obj : {"map", "prog"}) {
		const Num lines = need("bpftool_" + obj + "_lines", "bpftool",
				       cfg_.rounds)
					  .med;
		const Stat o = stat(values_[{obj + "s_read", "ours"}]);
		const Stat b = need("bpftool_" + obj, "bpftool", cfg_.rounds);
		const std::string r = ratio(b.min, o.min);
		const std::string goal =
			obj == "map" ? " | - | -"
				     : " (minimums: " + r + "x) | " +
					       target(r, ">=", "5");
		std::cout << "| bpftool " << obj << " show | " << span(b, true)
			  << " | " << str(lines) << " | " << ratio(b.med, o.med)
			  << "x slower than " << obj << "s.debug" << goal
			  << " |\n";
	}
}

void Report::size_table() const
{
	const Sizes a = sizes(dir_ + "/root/bench/ours.ko");
	const Sizes c = sizes(dir_ + "/root/bench/c.ko");
	const auto d = [](unsigned long long v) {
		return static_cast<double>(v);
	};
	const auto dec = [](const Sizes &s) { return s.text + s.data + s.bss; };
	std::cout << "\nSize of the .ko files (`size`, bytes):\n\n"
		     "| module | text | data | bss | dec |\n"
		     "| --- | --- | --- | --- | --- |\n";
	for (const auto &[name, s] :
	     {std::pair{"this module", a}, std::pair{"C module", c}})
		std::cout << "| " << name << " | " << s.text << " | " << s.data
			  << " | " << s.bss << " | " << dec(s) << " |\n";
	std::cout << "| ratio | " << ratio(d(a.text), d(c.text)) << "x | "
		  << ratio(d(a.data), d(c.data)) << "x | "
		  << ratio(d(a.bss), d(c.bss)) << "x | "
		  << ratio(d(dec(a)), d(dec(c))) << "x |\n\n";
}

// The traced insmod whose summed time in function f is the median (the
// lower one of an even count): its time and calls.
Report::Median Report::prof_median(const std::string &who,
				   const std::string &f) const
{
	std::vector<std::pair<double, long>> list;
	for (const auto &[key, k] : traced_)
		if (k.who() == who && k.calls(f) > 0)
			list.emplace_back(awk_round(k.time(f)), k.calls(f));
	std::ranges::sort(list);
	if (list.empty())
		return {};
	const auto &[time, calls] = list[((list.size() + 1) / 2) - 1];
	return {.time = time, .calls = std::to_string(calls)};
}

void Report::profile_tables() const
{
	if (funcs_.empty())
		return;
	std::cout << "Where insmod time goes: ftrace function_graph on the "
		     "functions below,\n"
		  << cfg_.profile
		  << " traced insmods per module after the timed rounds "
		     "(tracing adds\n"
		     "overhead; times include nested calls, so rows overlap). "
		     "Per function:\n"
		     "median over traced insmods of the summed time of its "
		     "calls, in ms.\n\n"
		     "| function | calls (this / C) | this module | C module | "
		     "ratio |\n| --- | --- | --- | --- | --- |\n";
	for (const std::string &f : funcs_) {
		const Median a = prof_median("ours", f);
		const Median c = prof_median("c", f);
		if (a.time || c.time)
			std::cout << "| " << f << " | " << a.calls << " / "
				  << c.calls << " | " << ms(a.time) << " | "
				  << ms(c.time) << " | "
				  << ratio(a.time, c.time) << "x |\n";
	}
	std::cout << "\nInsmod step by step: each step's median and minimum "
		     "over the traced insmods, in ms\n"
		     "(call numbers in completion order: #1 is the syscall "
		     "program, the light\n"
		     "skeleton's loader in the C module, the vmlinux BTF id "
		     "lookup in this module;\n"
		     "#2 dump_bpf_map, #3 dump_bpf_prog; medians do not add up "
		     "exactly):\n\n"
		     "| step | this module: median (min) | C module: median "
		     "(min) | ratio | min |\n| --- | --- | --- | --- | --- |\n";
	for (const Step &step : kSteps) {
		std::map<std::string, std::vector<double>> d;
		for (const auto &[key, k] : traced_)
			d[k.who()].push_back(std::nearbyint(step.value(k)));
		if (traced_.empty())
			break;
		const Stat a = stat(d["ours"]);
		const Stat c = stat(d["c"]);
		std::cout << "| " << step.label << " | " << ms(a.med) << " ("
			  << ms(a.min) << ") | " << ms(c.med) << " ("
			  << ms(c.min) << ") | " << ratio(a.med, c.med)
			  << "x | " << ratio(a.min, c.min) << "x |\n";
	}
	std::cout << '\n';
}

void Report::sweep_tables(const std::string &png)
{
	std::cout << "Listing N programs: median (min - max) of " << cfg_.reps
		  << " reads each, ms, and the\n"
		     "median per program (time / N):\n\n"
		     "| N | progs.debug, this module | progs.debug, C module | "
		     "bpftool prog show | bpftool / this module |\n"
		     "| --- | --- | --- | --- | --- |\n";
	std::ofstream dat(dir_ + "/sweep.dat");
	const Words points = split(cfg_.sweep);
	std::array<double, 3> low{}; // each listing's minimum at the last N
	std::string cost;
	for (std::size_t i = 0; i < points.size(); i++) {
		const std::string &n = points[i];
		std::string line = "| " + n;
		std::string grow =
			i == 0 ? "" : "| " + points[i - 1] + " | " + n;
		std::array<Num, 3> med;
		dat << n;
		for (std::size_t j = 0; j < 3; j++) {
			const std::array<const char *, 3> who{"ours", "c",
							      "bpftool"};
			const Stat s = need(n, who.at(j), cfg_.reps, "sweep-");
			const std::string per =
				s.med ? fmt(", %.2f µs/prog",
					    *s.med / num(n) / 1e3)
				      : "";
			line += " | " + (s.med ? span(s, true) + per : "-");
			dat << " " << ms(s.med) << " " << ms(s.min) << " "
			    << ms(s.max);
			med.at(j) = s.med;
			const double min_ms = num(ms(s.min));
			if (i > 0)
				grow += fmt(
					" | %.2f",
					(min_ms - low.at(j)) * 1e3 /
						(num(n) - num(points[i - 1])));
			low.at(j) = min_ms;
		}
		dat << '\n';
		std::cout << line << " | " << ratio(med[2], med[0]) << "x |\n";
		if (i > 0)
			cost += grow + " |\n";
	}
	std::cout
		<< "\nCost per added program between sweep points, from the "
		   "minimums (µs per\n"
		   "program; roughly equal rows mean linear in N):\n\n"
		   "| from N | to N | progs.debug, this module | progs.debug, "
		   "C module | bpftool prog show |\n"
		   "| --- | --- | --- | --- | --- |\n"
		<< cost << "\n![listing time against N](" << png << ")\n\n"
		<< notes_;
}

void Report::write_missing()
{
	for (const char *who : {"ours", "c"})
		if (num(cfg_.profile) > 0 &&
		    !prof_median(who, "bpf_check").time)
			missed_ += std::string(" profile/") + who;
	std::ofstream(dir_ + "/missing") << missed_;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 5) {
		std::cerr << "usage: report DIR ABI NAME LOAD\n";
		return 2;
	}
	const std::string dir = argv[1];
	Report r(read_config(dir + "/root/bench/config"), dir);
	r.read_log();
	r.header(argv[2], argv[4]);
	r.main_table();
	r.bpftool_table();
	r.size_table();
	r.profile_tables();
	r.sweep_tables(std::string(argv[3]) + "-listing.png");
	r.write_missing();
	return 0;
}
