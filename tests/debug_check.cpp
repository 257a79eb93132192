// debug_check: validate maps.debug / progs.debug line by line (the format
// and how it is checked: debug_format.hpp).

#include "debug_format.hpp"

#include <getopt.h>

namespace {

using namespace dbg;

constexpr t::Usage kUsage{
	"usage: debug_check [options] maps|progs FILE\n"
	"       debug_check --self-test\n"
	"       debug_check --expected-variant\n"
	"Validate every line of a bpffs maps.debug or progs.debug.\n"
	"  --variant=kernel|count|plain  expected maps.debug layout\n"
	"        (default kernel: count on 6.6+ with JIT, else plain)\n"
	"  --variant=any    accept either maps.debug layout\n"
	"  --map NAME       maps.debug must list map NAME\n"
	"  --prog NAME:ATTACH  progs.debug must list NAME attached to\n"
	"                   ATTACH with an empty target\n"
	"  --cross-check    compare rows with bpf() map/prog info; a\n"
	"                   row whose id is gone must be of an object\n"
	"                   that existed before the file was read\n"
	"  --print          print the parsed rows\n"};

// Parser self-test: the kernel's reference output must pass and a set of
// near misses must each be rejected.
// One getopt_long() entry that sets no flag.
constexpr option long_opt(const char *name, int has_arg, int val)
{
	return {.name = name, .has_arg = has_arg, .flag = nullptr, .val = val};
}

int self_test()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	t::Checks c("debug_check --self-test");
	Options plain;
	Options count;
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

	c.set_verbose();
	t::Checks quiet("");
	quiet.set_silent();
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
	std::snprintf(row, sizeof(row), "%4u %-16s%6d\n", 12345U, "a",
		      12345678);
	wide += row;
	std::snprintf(row, sizeof(row), "%4u %-16s%6d\n", 12346U, "", -1);
	wide += row;
	good_maps(wide, any_plain, "wide id, empty name, negative");
	good_progs(progs_ref, "reference progs.debug");
	std::snprintf(row, sizeof(row), "%4u %-16s %s %s\n", 17U,
		      "a_very_long_btf_function_name", "", "");
	good_progs(progs_ref + row, "long name, empty attach and target");
	std::snprintf(row, sizeof(row), "%4u %-16s %s %s\n", 18U, "", "", "");
	good_progs(progs_ref + row, "empty name");
	std::snprintf(row, sizeof(row), "%4u %-16s %s %s\n", 19U, "ext_prog",
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

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	Options o;
	std::string variant = "kernel";
	static const struct option longopts[] = {
		long_opt("variant", required_argument, 'v'),
		long_opt("map", required_argument, 'm'),
		long_opt("prog", required_argument, 'p'),
		long_opt("cross-check", no_argument, 'x'),
		long_opt("print", no_argument, 'P'),
		long_opt("self-test", no_argument, 'S'),
		long_opt("expected-variant", no_argument, 'E'),
		long_opt("help", no_argument, 'h'),
		{},
	};
	int opt = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, nullptr)) != -1) {
		switch (opt) {
		case 'v':
			variant = optarg;
			break;
		case 'm':
			o.maps.emplace_back(optarg);
			break;
		case 'p': {
			const std::string s = optarg;
			const size_t colon = s.find(':');
			if (colon == std::string::npos)
				return kUsage.misuse();
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
		case 'E':
			std::puts(t::maps_variant() == Variant::Count
					  ? "count"
					  : "plain");
			return 0;
		case 'h':
			return kUsage.help();
		default:
			return kUsage.misuse();
		}
	}
	if (argc - optind != 2)
		return kUsage.misuse();
	const std::string kind = argv[optind];
	const std::string path = argv[optind + 1];

	if (variant == "kernel") {
		const t::KernelVersion k = t::running_kernel();
		o.have_variant = true;
		o.variant = t::maps_variant();
		if (kind == "maps")
			std::printf("kernel %d.%d: expecting the %s maps.debug "
				    "layout\n",
				    k.major, k.minor, variant_name(o.variant));
	} else if (variant == "count" || variant == "plain") {
		o.have_variant = true;
		o.variant =
			variant == "count" ? Variant::Count : Variant::Plain;
	} else if (variant != "any")
		return kUsage.misuse();

	t::Checks c("debug_check");
	if (o.cross)
		o.before = snapshot_ids();
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
	} else
		return kUsage.misuse();
	return c.finish();
}
