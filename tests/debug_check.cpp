// debug_check: validate maps.debug / progs.debug line by line.
//
// The kernel's own bpf_preload prints (see iterators.bpf.c in the kernel):
//   maps.debug, kernels with kfunc bpf_map_sum_elem_count (6.6+):
//     "  id name             max_entries  cur_entries\n"
//     "%4u %-16s  %10d   %10lld\n"
//   maps.debug, older kernels (6.1):
//     "  id name             max_entries\n"
//     "%4u %-16s%6d\n"
//   progs.debug:
//     "  id name             attached\n"
//     "%4u %-16s %s %s\n"   (id, name, attach func, target prog name)
//
// Every row is parsed, printed again with the exact format and compared byte
// for byte, so widths, padding and trailing spaces are all checked.

#include "common.hpp"

#include <bpf/bpf.h>
#include <cstdlib>
#include <getopt.h>
#include <string>
#include <vector>

namespace {

enum class Variant { Plain, Count };

const char *variant_name(Variant v)
{
	return v == Variant::Count ? "count (6.6+)" : "plain (pre-6.6)";
}

constexpr const char *kMapsHeaderPlain = "  id name             max_entries";
constexpr const char *kMapsHeaderCount =
	"  id name             max_entries  cur_entries";
constexpr const char *kProgsHeader = "  id name             attached";

struct MapRow {
	unsigned id = 0;
	std::string name;
	long long max_entries = 0;
	long long cur_entries = 0;
};

struct ProgRow {
	unsigned id = 0;
	std::string name;
	std::string attach;
	std::string target;
};

bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

bool valid_name(const std::string &s, size_t max_len)
{
	if (s.size() > max_len)
		return false;
	for (char c : s)
		if (!name_char(c))
			return false;
	return true;
}

// "%4u " prefix: optional spaces, digits, one space. Returns position after
// the separating space or npos.
size_t parse_id(const std::string &l, unsigned &id)
{
	size_t p = l.find_first_not_of(' ');
	if (p == std::string::npos || l[p] < '0' || l[p] > '9')
		return std::string::npos;
	size_t q = l.find_first_not_of("0123456789", p);
	if (q == std::string::npos || l[q] != ' ' || q - p > 10)
		return std::string::npos;
	unsigned long v = std::strtoul(l.c_str() + p, nullptr, 10);
	if (v > 0xffffffffUL)
		return std::string::npos;
	id = static_cast<unsigned>(v);
	return q + 1;
}

// A "%-16s" field starting at p whose content has no spaces.
size_t parse_name16(const std::string &l, size_t p, std::string &name)
{
	size_t e = l.find(' ', p);
	if (e == std::string::npos)
		e = l.size();
	name = l.substr(p, e - p);
	size_t end = p + std::max<size_t>(16, name.size());
	if (end > l.size())
		return std::string::npos;
	for (size_t i = e; i < end; i++)
		if (l[i] != ' ')
			return std::string::npos;
	return end;
}

// Parse `l` (without '\n') as a maps.debug row; empty error on success.
std::string parse_map_row(const std::string &l, Variant v, MapRow &r)
{
	size_t p = parse_id(l, r.id);
	if (p == std::string::npos)
		return "no \"%4u \" id field";
	p = parse_name16(l, p, r.name);
	if (p == std::string::npos)
		return "no \"%-16s\" name field";
	if (!valid_name(r.name, 15))
		return "map name " + t::visible(r.name) +
		       " is not a valid BPF object name";
	const char *s = l.c_str() + p;
	char *end;
	errno = 0;
	r.max_entries = std::strtoll(s, &end, 10);
	if (end == s || errno)
		return "no max_entries number";
	if (v == Variant::Count) {
		s = end;
		r.cur_entries = std::strtoll(s, &end, 10);
		if (end == s || errno)
			return "no cur_entries number";
	}
	if (*end)
		return "trailing characters " + t::visible(end);

	char buf[256];
	if (v == Variant::Count)
		std::snprintf(buf, sizeof(buf), "%4u %-16s  %10d   %10lld",
			      r.id, r.name.c_str(),
			      static_cast<int>(r.max_entries), r.cur_entries);
	else
		std::snprintf(buf, sizeof(buf), "%4u %-16s%6d", r.id,
			      r.name.c_str(), static_cast<int>(r.max_entries));
	if (l != buf)
		return std::string("does not match the row format, expected ") +
		       t::visible(buf);
	return {};
}

std::string parse_prog_row(const std::string &l, ProgRow &r)
{
	size_t p = parse_id(l, r.id);
	if (p == std::string::npos)
		return "no \"%4u \" id field";
	p = parse_name16(l, p, r.name);
	if (p == std::string::npos)
		return "no \"%-16s\" name field";
	if (p >= l.size() || l[p] != ' ')
		return "no space after the name field";
	p++;
	size_t e = l.find(' ', p);
	if (e == std::string::npos)
		return "no space after the attach function name (the row must "
		       "end with \"<attach> <target>\", target may be empty)";
	r.attach = l.substr(p, e - p);
	r.target = l.substr(e + 1);
	if (!valid_name(r.name, 256) || !valid_name(r.attach, 256) ||
	    !valid_name(r.target, 256))
		return "unexpected characters in a name field";

	std::string buf(l.size() + 64, '\0');
	int n = std::snprintf(buf.data(), buf.size(), "%4u %-16s %s %s", r.id,
			      r.name.c_str(), r.attach.c_str(),
			      r.target.c_str());
	buf.resize(static_cast<size_t>(n));
	if (l != buf)
		return "does not match the row format, expected " +
		       t::visible(buf);
	return {};
}

// Split into lines, checking that every line is '\n'-terminated.
bool split_lines(const std::string &text, std::vector<std::string> &lines,
		 t::Checks &c, const std::string &what)
{
	if (!c.expect(!text.empty(), "%s is empty", what.c_str()))
		return false;
	c.expect(text.back() == '\n', "%s does not end with a newline",
		 what.c_str());
	size_t p = 0;
	while (p < text.size()) {
		size_t e = text.find('\n', p);
		if (e == std::string::npos)
			e = text.size();
		lines.push_back(text.substr(p, e - p));
		p = e + 1;
	}
	return true;
}

struct Options {
	bool have_variant = false;
	Variant variant = Variant::Plain;
	std::vector<std::string> maps;				// --map NAME
	std::vector<std::pair<std::string, std::string>> progs; // --prog N:A
	bool cross = false;
	bool print = false;
};

void cross_check_map(const MapRow &r, t::Checks &c)
{
	int fd = bpf_map_get_fd_by_id(r.id);
	if (fd < 0) {
		int err = errno;
		// ENOENT: freed after the iterator ran (e.g. __loader.map).
		c.expect(err == ENOENT,
			 "map id %u (%s): bpf_map_get_fd_by_id: %s", r.id,
			 r.name.c_str(), t::errstr(err).c_str());
		if (err == ENOENT)
			std::printf("note: map id %u (%s) is gone now\n", r.id,
				    r.name.c_str());
		return;
	}
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	int err = errno;
	close(fd);
	if (!c.expect_ok(rc, err, "map id %u: bpf_obj_get_info_by_fd", r.id))
		return;
	c.expect(r.name == info.name, "map id %u: listed as %s, kernel says %s",
		 r.id, t::visible(r.name).c_str(),
		 t::visible(info.name).c_str());
	c.expect(r.max_entries == info.max_entries,
		 "map id %u (%s): listed max_entries %lld, kernel says %u",
		 r.id, r.name.c_str(), r.max_entries, info.max_entries);
}

void cross_check_prog(const ProgRow &r, t::Checks &c)
{
	int fd = bpf_prog_get_fd_by_id(r.id);
	if (fd < 0) {
		int err = errno;
		c.expect(err == ENOENT,
			 "prog id %u (%s): bpf_prog_get_fd_by_id: %s", r.id,
			 r.name.c_str(), t::errstr(err).c_str());
		if (err == ENOENT)
			std::printf("note: prog id %u (%s) is gone now\n", r.id,
				    r.name.c_str());
		return;
	}
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	int err = errno;
	close(fd);
	if (!c.expect_ok(rc, err, "prog id %u: bpf_obj_get_info_by_fd", r.id))
		return;
	// progs.debug prints the BTF function name when there is one; the
	// object name is at most 15 characters, so compare as a prefix.
	std::string kname = info.name;
	c.expect(r.name.starts_with(kname),
		 "prog id %u: listed as %s, kernel name is %s", r.id,
		 t::visible(r.name).c_str(), t::visible(kname).c_str());
}

// Returns the number of failed checks.
int check_maps(const std::string &text, const std::string &what,
	       const Options &o, t::Checks &c)
{
	int before = c.failures();
	std::vector<std::string> lines;
	if (!split_lines(text, lines, c, what))
		return c.failures() - before;

	Variant file_v;
	if (lines[0] == kMapsHeaderCount) {
		file_v = Variant::Count;
	} else if (lines[0] == kMapsHeaderPlain) {
		file_v = Variant::Plain;
	} else {
		c.expect(false, "%s: line 1: unknown header %s", what.c_str(),
			 t::visible(lines[0]).c_str());
		return c.failures() - before;
	}
	if (o.have_variant)
		c.expect(
			file_v == o.variant,
			"%s: header is the %s variant, expected the %s variant",
			what.c_str(), variant_name(file_v),
			variant_name(o.variant));
	if (o.print)
		std::printf("%s: %s header\n", what.c_str(),
			    variant_name(file_v));

	std::vector<MapRow> rows;
	for (size_t i = 1; i < lines.size(); i++) {
		MapRow r;
		std::string err = parse_map_row(lines[i], file_v, r);
		if (!c.expect(err.empty(), "%s: line %zu: %s: %s", what.c_str(),
			      i + 1, t::visible(lines[i]).c_str(), err.c_str()))
			continue;
		if (!rows.empty())
			c.expect(r.id > rows.back().id,
				 "%s: line %zu: id %u not above previous id %u",
				 what.c_str(), i + 1, r.id, rows.back().id);
		if (o.print)
			std::printf("map id=%u name=%s max_entries=%lld"
				    " cur_entries=%lld\n",
				    r.id, r.name.c_str(), r.max_entries,
				    r.cur_entries);
		rows.push_back(r);
	}
	c.expect(!rows.empty(), "%s: no map rows", what.c_str());
	for (const auto &want : o.maps) {
		bool found = false;
		for (const auto &r : rows)
			found |= r.name == want;
		c.expect(found, "%s: no row for map %s", what.c_str(),
			 want.c_str());
	}
	if (o.cross)
		for (const auto &r : rows)
			cross_check_map(r, c);
	return c.failures() - before;
}

int check_progs(const std::string &text, const std::string &what,
		const Options &o, t::Checks &c)
{
	int before = c.failures();
	std::vector<std::string> lines;
	if (!split_lines(text, lines, c, what))
		return c.failures() - before;
	if (!c.expect(lines[0] == kProgsHeader,
		      "%s: line 1: header is %s, expected %s", what.c_str(),
		      t::visible(lines[0]).c_str(),
		      t::visible(kProgsHeader).c_str()))
		return c.failures() - before;

	std::vector<ProgRow> rows;
	for (size_t i = 1; i < lines.size(); i++) {
		ProgRow r;
		std::string err = parse_prog_row(lines[i], r);
		if (!c.expect(err.empty(), "%s: line %zu: %s: %s", what.c_str(),
			      i + 1, t::visible(lines[i]).c_str(), err.c_str()))
			continue;
		if (!rows.empty())
			c.expect(r.id > rows.back().id,
				 "%s: line %zu: id %u not above previous id %u",
				 what.c_str(), i + 1, r.id, rows.back().id);
		if (o.print)
			std::printf("prog id=%u name=%s attach=%s target=%s\n",
				    r.id, r.name.c_str(), r.attach.c_str(),
				    r.target.c_str());
		rows.push_back(r);
	}
	c.expect(!rows.empty(), "%s: no program rows", what.c_str());
	for (const auto &[name, attach] : o.progs) {
		bool found = false;
		for (const auto &r : rows)
			found |= r.name == name && r.attach == attach &&
				 r.target.empty();
		c.expect(found,
			 "%s: no row for program %s attached to %s (empty "
			 "target)",
			 what.c_str(), name.c_str(), attach.c_str());
	}
	if (o.cross)
		for (const auto &r : rows)
			cross_check_prog(r, c);
	return c.failures() - before;
}

// Parser self-test: the kernel's reference output must pass and a set of
// near misses must each be rejected.
int self_test()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	t::Checks c("debug_check --self-test");
	Options plain, count;
	plain.have_variant = count.have_variant = true;
	plain.variant = Variant::Plain;
	count.variant = Variant::Count;
	plain.maps = count.maps = {"iterator.rodata"};
	Options progs;
	progs.progs = {{"dump_bpf_map", "bpf_iter_bpf_map"},
		       {"dump_bpf_prog", "bpf_iter_bpf_prog"}};

	const std::string maps61 = "  id name             max_entries\n"
				   "   1 __loader.map         1\n"
				   "   2 iterator.rodata      1\n";
	const std::string maps612 =
		"  id name             max_entries  cur_entries\n"
		"   1 __loader.map               1            0\n"
		"   2 iterator.rodata            1            0\n";
	const std::string progs_ref =
		"  id name             attached\n"
		"   2 dump_bpf_map     bpf_iter_bpf_map \n"
		"   3 dump_bpf_prog    bpf_iter_bpf_prog \n";

	c.verbose = true;
	t::Checks quiet("");
	quiet.silent = true;
	auto good_maps = [&](const std::string &s, const Options &o,
			     const char *what) {
		c.expect(check_maps(s, what, o, quiet) == 0, "accepts %s",
			 what);
	};
	auto bad_maps = [&](const std::string &s, const Options &o,
			    const char *what) {
		c.expect(check_maps(s, what, o, quiet) > 0, "rejects %s", what);
	};
	auto good_progs = [&](const std::string &s, const char *what) {
		c.expect(check_progs(s, what, progs, quiet) == 0, "accepts %s",
			 what);
	};
	auto bad_progs = [&](const std::string &s, const char *what) {
		c.expect(check_progs(s, what, progs, quiet) > 0, "rejects %s",
			 what);
	};

	good_maps(maps61, plain, "6.1 reference maps.debug");
	good_maps(maps612, count, "6.12 reference maps.debug");
	char row[128];
	Options any_plain;
	any_plain.have_variant = true;
	std::string wide = "  id name             max_entries\n";
	std::snprintf(row, sizeof(row), "%4u %-16s%6d\n", 12345u, "a",
		      12345678);
	wide += row;
	std::snprintf(row, sizeof(row), "%4u %-16s%6d\n", 12346u, "", -1);
	wide += row;
	good_maps(wide, any_plain, "wide id, empty name, negative");
	good_progs(progs_ref, "reference progs.debug");
	std::snprintf(row, sizeof(row), "%4u %-16s %s %s\n", 17u,
		      "a_very_long_btf_function_name", "", "");
	good_progs(progs_ref + row, "long name, empty attach and target");
	std::snprintf(row, sizeof(row), "%4u %-16s %s %s\n", 18u, "", "", "");
	good_progs(progs_ref + row, "empty name");
	std::snprintf(row, sizeof(row), "%4u %-16s %s %s\n", 19u, "ext_prog",
		      "target_func", "target_prog");
	good_progs(progs_ref + row, "extension with a target program");

	bad_maps(maps61, count, "6.1 maps.debug where 6.12 is expected");
	bad_maps(maps612, plain, "6.12 maps.debug where 6.1 is expected");
	bad_maps("  id name             max_entries\n"
		 "   1 __loader.map      1\n",
		 plain, "plain row with a narrow number");
	bad_maps("  id name             max_entries\n"
		 "   1 __loader.map          1\n",
		 plain, "plain row with a wide number");
	bad_maps("  id name             max_entries  cur_entries\n"
		 "   2 iterator.rodata     1     0\n",
		 count, "count row with narrow columns");
	bad_maps("  id name             max_entries\n"
		 "  1 iterator.rodata      1\n",
		 plain, "narrow id");
	bad_maps("  id name             max_entries\n"
		 "   1 __loader.map         1\n",
		 plain, "missing iterator.rodata row");
	bad_maps("  id name             max_entries\n"
		 "   2 iterator.rodata      1\n"
		 "   1 __loader.map         1\n",
		 plain, "ids out of order");
	bad_maps("  id name             max_entries\n"
		 "   2 iterator.rodata      1",
		 plain, "missing final newline");
	bad_maps("  id name            max_entries\n"
		 "   2 iterator.rodata      1\n",
		 plain, "bad header");
	bad_maps("  id name             max_entries\n"
		 "   2 iterator.rodata      1\n\n",
		 plain, "empty line");
	bad_maps("", plain, "empty file");
	bad_progs("  id name             attached\n"
		  "   2 dump_bpf_map     bpf_iter_bpf_map\n"
		  "   3 dump_bpf_prog    bpf_iter_bpf_prog\n",
		  "rows without the trailing space");
	bad_progs("  id name             attached\n"
		  "   2 dump_bpf_map    bpf_iter_bpf_map \n"
		  "   3 dump_bpf_prog    bpf_iter_bpf_prog \n",
		  "narrow name column");
	bad_progs("  id name             attached\n"
		  "   2 dump_bpf_map     bpf_iter_bpf_map \n",
		  "missing dump_bpf_prog");
	bad_progs("  id name             attached\n"
		  "   2 dump_bpf_map     bpf_iter_bpf_prog \n"
		  "   3 dump_bpf_prog    bpf_iter_bpf_map \n",
		  "swapped attach functions");
	bad_progs("  id name             attached\n"
		  "   2 dump_bpf_map\tbpf_iter_bpf_map \n"
		  "   3 dump_bpf_prog    bpf_iter_bpf_prog \n",
		  "tab instead of spaces");
	bad_progs("  id name            attached\n"
		  "   2 dump_bpf_map     bpf_iter_bpf_map \n"
		  "   3 dump_bpf_prog    bpf_iter_bpf_prog \n",
		  "bad header");
	return c.finish();
}

void usage(FILE *f)
{
	std::fprintf(
		f,
		"usage: debug_check [options] maps|progs FILE\n"
		"       debug_check --self-test\n"
		"Validate every line of a bpffs maps.debug or progs.debug.\n"
		"  --variant=kernel|count|plain  expected maps.debug layout\n"
		"        (default kernel: count on 6.6+ with JIT, else plain)\n"
		"  --variant=any    accept either maps.debug layout\n"
		"  --map NAME       maps.debug must list map NAME\n"
		"  --prog NAME:ATTACH  progs.debug must list NAME attached to\n"
		"                   ATTACH with an empty target\n"
		"  --cross-check    compare rows with bpf() map/prog info\n"
		"  --print          print the parsed rows\n");
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	Options o;
	std::string variant = "kernel";
	static const struct option longopts[] = {
		{"variant", required_argument, nullptr, 'v'},
		{"map", required_argument, nullptr, 'm'},
		{"prog", required_argument, nullptr, 'p'},
		{"cross-check", no_argument, nullptr, 'x'},
		{"print", no_argument, nullptr, 'P'},
		{"self-test", no_argument, nullptr, 'S'},
		{"help", no_argument, nullptr, 'h'},
		{},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
		switch (opt) {
		case 'v':
			variant = optarg;
			break;
		case 'm':
			o.maps.emplace_back(optarg);
			break;
		case 'p': {
			std::string s = optarg;
			size_t colon = s.find(':');
			if (colon == std::string::npos) {
				usage(stderr);
				return 2;
			}
			o.progs.emplace_back(s.substr(0, colon),
					     s.substr(colon + 1));
			break;
		}
		case 'x':
			o.cross = true;
			break;
		case 'P':
			o.print = true;
			break;
		case 'S':
			return self_test();
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	std::string kind = argv[optind], path = argv[optind + 1];

	if (variant == "kernel") {
		t::KernelVersion k = t::running_kernel();
		o.have_variant = true;
		// Counting calls a kfunc: 6.6+ and a BPF JIT, whose sysctl
		// only kernels built with one have (not Debian's s390x ones).
		const char *jit_sysctl = "/proc/sys/net/core/bpf_jit_enable";
		bool jit = ::access(jit_sysctl, F_OK) == 0;
		o.variant = k.at_least(6, 6) && jit ? Variant::Count
						    : Variant::Plain;
		if (kind == "maps")
			std::printf("kernel %d.%d: expecting the %s maps.debug "
				    "layout\n",
				    k.major, k.minor, variant_name(o.variant));
	} else if (variant == "count" || variant == "plain") {
		o.have_variant = true;
		o.variant =
			variant == "count" ? Variant::Count : Variant::Plain;
	} else if (variant != "any") {
		usage(stderr);
		return 2;
	}

	t::Checks c("debug_check");
	auto text = t::read_file(path);
	if (!text) {
		c.expect(false, "cannot read %s: %s", path.c_str(),
			 t::errstr(errno).c_str());
		return c.finish();
	}
	if (kind == "maps") {
		check_maps(*text, path, o, c);
	} else if (kind == "progs") {
		check_progs(*text, path, o, c);
	} else {
		usage(stderr);
		return 2;
	}
	return c.finish();
}
