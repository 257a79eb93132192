// The format of maps.debug and progs.debug, as the kernel's own bpf_preload
// prints them (see iterators.bpf.c in the kernel):
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
// check_maps() and check_progs() parse every row, print it again with the
// exact format and compare byte for byte, so widths, padding and trailing
// spaces are all checked. Shared by debug_check and bpffs_ops.
#pragma once

#include "bpf_ids.hpp"
#include "common.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dbg {

using t::Variant;
using t::variant_name;

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

inline bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

inline bool valid_name(const std::string &s, size_t max_len)
{
	if (s.size() > max_len)
		return false;
	return std::ranges::all_of(s, name_char);
}

// "%4u " prefix: optional spaces, digits, one space. Returns position after
// the separating space or npos.
inline size_t parse_id(const std::string &l, unsigned &id)
{
	const size_t p = l.find_first_not_of(' ');
	if (p == std::string::npos || l[p] < '0' || l[p] > '9')
		return std::string::npos;
	const size_t q = l.find_first_not_of("0123456789", p);
	if (q == std::string::npos || l[q] != ' ' || q - p > 10)
		return std::string::npos;
	const unsigned long v = std::strtoul(l.c_str() + p, nullptr, 10);
	if (v > 0xffffffffUL)
		return std::string::npos;
	id = static_cast<unsigned>(v);
	return q + 1;
}

// A "%-16s" field starting at p whose content has no spaces.
inline size_t parse_name16(const std::string &l, size_t p, std::string &name)
{
	size_t e = l.find(' ', p);
	if (e == std::string::npos)
		e = l.size();
	name = l.substr(p, e - p);
	const size_t end = p + std::max<size_t>(16, name.size());
	if (end > l.size())
		return std::string::npos;
	for (size_t i = e; i < end; i++)
		if (l[i] != ' ')
			return std::string::npos;
	return end;
}

// The "%4u %-16s" start of every row, into id and name; p is set to the
// position after it. Empty error on success.
inline std::string parse_id_name(const std::string &l, unsigned &id,
				 std::string &name, size_t &p)
{
	p = parse_id(l, id);
	if (p == std::string::npos)
		return "no \"%4u \" id field";
	p = parse_name16(l, p, name);
	if (p == std::string::npos)
		return "no \"%-16s\" name field";
	return {};
}

// Parse `l` (without '\n') as a maps.debug row; empty error on success.
inline std::string parse_map_row(const std::string &l, Variant v, MapRow &r)
{
	size_t p = 0;
	if (std::string err = parse_id_name(l, r.id, r.name, p); !err.empty())
		return err;
	if (!valid_name(r.name, 15))
		return "map name " + t::visible(r.name) +
		       " is not a valid BPF object name";
	const char *s = l.c_str() + p;
	char *end = nullptr;
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
	if (*end != '\0')
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

inline std::string parse_prog_row(const std::string &l, ProgRow &r)
{
	size_t p = 0;
	if (std::string err = parse_id_name(l, r.id, r.name, p); !err.empty())
		return err;
	if (p >= l.size() || l[p] != ' ')
		return "no space after the name field";
	p++;
	const size_t e = l.find(' ', p);
	if (e == std::string::npos)
		return "no space after the attach function name (the row must "
		       "end with \"<attach> <target>\", target may be empty)";
	r.attach = l.substr(p, e - p);
	r.target = l.substr(e + 1);
	if (!valid_name(r.name, 256) || !valid_name(r.attach, 256) ||
	    !valid_name(r.target, 256))
		return "unexpected characters in a name field";

	std::string buf(l.size() + 64, '\0');
	const int n = std::snprintf(buf.data(), buf.size(), "%4u %-16s %s %s",
				    r.id, r.name.c_str(), r.attach.c_str(),
				    r.target.c_str());
	buf.resize(static_cast<size_t>(n));
	if (l != buf)
		return "does not match the row format, expected " +
		       t::visible(buf);
	return {};
}

// Split into lines, checking that every line is '\n'-terminated.
inline bool split_lines(const std::string &text,
			std::vector<std::string> &lines, t::Checks &c,
			const std::string &what)
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

// The maps and programs that existed before a file was read, id -> name:
// a row whose id no longer exists is accepted only if it is one of these,
// an object that went away after the read (e.g. __loader.map), not an id
// that never was.
struct IdSnapshot {
	std::map<__u32, std::string> maps, progs;
};

// id -> object name of every map (Info bpf_map_info) or program
// (bpf_prog_info) there is now.
template <typename Info> std::map<__u32, std::string> names_by_id(t::Kind k)
{
	std::map<__u32, std::string> names;
	t::for_each_id(k, [&](__u32 id) {
		const int fd = t::get_fd_by_id(k, id);
		if (fd < 0)
			return true; // gone during the walk
		Info info = {};
		if (t::get_info(fd, info) == 0)
			names[id] = info.name;
		close(fd);
		return true;
	});
	return names;
}

inline IdSnapshot snapshot_ids()
{
	return {.maps = names_by_id<bpf_map_info>(t::Kind::Map),
		.progs = names_by_id<bpf_prog_info>(t::Kind::Prog)};
}

struct Options {
	bool have_variant = false;
	Variant variant = Variant::Plain;
	std::vector<std::string> maps;				// --map NAME
	std::vector<std::pair<std::string, std::string>> progs; // --prog N:A
	bool cross = false;
	IdSnapshot before; // with cross: the objects before the read
	bool print = false;
};

// A row whose id bpf() no longer knows (err from *_get_fd_by_id): fine only
// for an object of the snapshot with the listed name, which went away.
inline void check_gone(const char *kind, unsigned id, const std::string &name,
		       int err, const std::map<__u32, std::string> &before,
		       t::Checks &c)
{
	if (!c.expect(err == ENOENT, "%s id %u (%s): get_fd_by_id: %s", kind,
		      id, name.c_str(), t::errstr(err).c_str()))
		return;
	auto it = before.find(id);
	if (it == before.end()) {
		c.expect(false,
			 "%s id %u (%s) does not exist and did not exist "
			 "before the file was read either: a wrong id",
			 kind, id, name.c_str());
		return;
	}
	// Names in the snapshot are object names, at most 15 characters.
	if (c.expect(!it->second.empty() && name.starts_with(it->second),
		     "%s id %u: listed as %s, before the read it was %s", kind,
		     id, t::visible(name).c_str(),
		     t::visible(it->second).c_str()))
		std::printf("note: %s id %u (%s) is gone now\n", kind, id,
			    name.c_str());
}

// Compares a row with the object bpf() has under its id: compare(fd, info)
// with an fd of it and its info (Info bpf_map_info or bpf_prog_info). When
// the id is gone, check_gone() judges; when the info cannot be had, that is
// a failed check.
template <typename Info, typename Row, typename Compare>
void cross_check_id(t::Kind k, const Row &r,
		    const std::map<__u32, std::string> &before, t::Checks &c,
		    Compare compare)
{
	const char *kind = t::kind_name(k);
	const int fd = t::get_fd_by_id(k, r.id);
	if (fd < 0) {
		check_gone(kind, r.id, r.name, errno, before, c);
		return;
	}
	Info info = {};
	const int err = t::get_info(fd, info);
	if (c.expect_ok(err == 0 ? 0 : -1, err,
			"%s id %u: bpf_obj_get_info_by_fd", kind, r.id))
		compare(fd, info);
	close(fd);
}

// A map's name and max_entries.
inline void cross_check(const MapRow &r, const Options &o, t::Checks &c)
{
	cross_check_id<bpf_map_info>(
		t::Kind::Map, r, o.before.maps, c,
		[&](int /*fd*/, const bpf_map_info &info) {
			c.expect(r.name == info.name,
				 "map id %u: listed as %s, kernel says %s",
				 r.id, t::visible(r.name).c_str(),
				 t::visible(info.name).c_str());
			c.expect(r.max_entries == info.max_entries,
				 "map id %u (%s): listed max_entries %lld, "
				 "kernel says %u",
				 r.id, r.name.c_str(), r.max_entries,
				 info.max_entries);
		});
}

// The name progs.debug must print for a program: the name of its BTF
// function when it has one, else its object name (what the kernel's
// iterator prints). Empty with an error message if it cannot be found out.
inline std::string expected_prog_name(int fd, const bpf_prog_info &info,
				      std::string &why)
{
	if (info.btf_id == 0 || info.nr_func_info == 0)
		return info.name;
	struct bpf_func_info fi = {};
	struct bpf_prog_info again = {};
	again.nr_func_info = 1;
	again.func_info_rec_size = sizeof(fi);
	again.func_info = t::ptr_to_u64(&fi);
	if (const int err = t::get_info(fd, again); err != 0) {
		why = "func_info: " + t::errstr(err);
		return {};
	}
	struct btf *btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf) {
		why = "BTF id " + std::to_string(info.btf_id) + ": " +
		      t::errstr(errno);
		return {};
	}
	std::string name;
	const struct btf_type *ty = btf__type_by_id(btf, fi.type_id);
	if (ty)
		name = btf__name_by_offset(btf, ty->name_off);
	else
		why = "no BTF type " + std::to_string(fi.type_id);
	btf__free(btf);
	return name;
}

// A program's name, as the kernel's iterator prints it.
inline void cross_check(const ProgRow &r, const Options &o, t::Checks &c)
{
	cross_check_id<bpf_prog_info>(
		t::Kind::Prog, r, o.before.progs, c,
		[&](int fd, const bpf_prog_info &info) {
			std::string why;
			const std::string want =
				expected_prog_name(fd, info, why);
			c.expect(why.empty() && r.name == want,
				 "prog id %u: listed as %s, the kernel's name "
				 "for it is %s%s%s",
				 r.id, t::visible(r.name).c_str(),
				 t::visible(want).c_str(),
				 why.empty() ? "" : ": ", why.c_str());
		});
}

// --print
inline void print_row(const MapRow &r)
{
	std::printf("map id=%u name=%s max_entries=%lld cur_entries=%lld\n",
		    r.id, r.name.c_str(), r.max_entries, r.cur_entries);
}

inline void print_row(const ProgRow &r)
{
	std::printf("prog id=%u name=%s attach=%s target=%s\n", r.id,
		    r.name.c_str(), r.attach.c_str(), r.target.c_str());
}

// --map NAME: a row for each.
inline void check_listed(const std::vector<MapRow> &rows,
			 const std::string &what, const Options &o,
			 t::Checks &c)
{
	for (const auto &want : o.maps) {
		const auto is_it = [&](const MapRow &r) {
			return r.name == want;
		};
		c.expect(std::ranges::any_of(rows, is_it),
			 "%s: no row for map %s", what.c_str(), want.c_str());
	}
}

// --prog NAME:ATTACH: a row for each, with an empty target.
inline void check_listed(const std::vector<ProgRow> &rows,
			 const std::string &what, const Options &o,
			 t::Checks &c)
{
	for (const auto &[name, attach] : o.progs) {
		const auto is_it = [&](const ProgRow &r) {
			return r.name == name && r.attach == attach &&
			       r.target.empty();
		};
		c.expect(std::ranges::any_of(rows, is_it),
			 "%s: no row for program %s attached to %s (empty "
			 "target)",
			 what.c_str(), name.c_str(), attach.c_str());
	}
}

// How the rows after a header line are parsed: the row, or what is wrong
// with it.
template <typename Row>
using RowParser = std::function<std::string(const std::string &, Row &)>;

// maps.debug's header: either variant's, and the expected one if there is
// an expectation; the rows are parsed in the variant of the header.
inline RowParser<MapRow> maps_header(const std::string &header,
				     const std::string &what, const Options &o,
				     t::Checks &c)
{
	Variant file_v = Variant::Plain;
	if (header == kMapsHeaderCount) {
		file_v = Variant::Count;
	} else if (header != kMapsHeaderPlain) {
		c.expect(false, "%s: line 1: unknown header %s", what.c_str(),
			 t::visible(header).c_str());
		return {};
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
	return [file_v](const std::string &l, MapRow &r) {
		return parse_map_row(l, file_v, r);
	};
}

inline RowParser<ProgRow> progs_header(const std::string &header,
				       const std::string &what,
				       const Options & /*o*/, t::Checks &c)
{
	if (!c.expect(header == kProgsHeader,
		      "%s: line 1: header is %s, expected %s", what.c_str(),
		      t::visible(header).c_str(),
		      t::visible(kProgsHeader).c_str()))
		return {};
	return parse_prog_row;
}

// A whole file: '\n'-terminated lines, the header as header() wants it
// (nothing more is checked after a wrong one), then at least one row
// (`noun` rows), each in the row format, ids increasing, what the options
// ask listed (--map, --prog), and with --cross-check as bpf() has it.
// Returns the number of failed checks.
template <typename Row>
int check_file(const std::string &text, const std::string &what,
	       const char *noun, const Options &o, t::Checks &c,
	       RowParser<Row> (*header)(const std::string &,
					const std::string &, const Options &,
					t::Checks &))
{
	const int before = c.failures();
	std::vector<std::string> lines;
	if (!split_lines(text, lines, c, what))
		return c.failures() - before;
	const RowParser<Row> parse = header(lines[0], what, o, c);
	if (!parse)
		return c.failures() - before;

	std::vector<Row> rows;
	for (size_t i = 1; i < lines.size(); i++) {
		Row r;
		const std::string err = parse(lines[i], r);
		if (!c.expect(err.empty(), "%s: line %zu: %s: %s", what.c_str(),
			      i + 1, t::visible(lines[i]).c_str(), err.c_str()))
			continue;
		if (!rows.empty())
			c.expect(r.id > rows.back().id,
				 "%s: line %zu: id %u not above previous id %u",
				 what.c_str(), i + 1, r.id, rows.back().id);
		if (o.print)
			print_row(r);
		rows.push_back(r);
	}
	c.expect(!rows.empty(), "%s: no %s rows", what.c_str(), noun);
	check_listed(rows, what, o, c);
	if (o.cross)
		for (const auto &r : rows)
			cross_check(r, o, c);
	return c.failures() - before;
}

inline int check_maps(const std::string &text, const std::string &what,
		      const Options &o, t::Checks &c)
{
	return check_file<MapRow>(text, what, "map", o, c, maps_header);
}

inline int check_progs(const std::string &text, const std::string &what,
		       const Options &o, t::Checks &c)
{
	return check_file<ProgRow>(text, what, "program", o, c, progs_header);
}

} // namespace dbg
