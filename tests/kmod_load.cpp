// kmod_load: load a kernel module with finit_module(2) and report the exact
// errno, which busybox insmod only shows as a message.
//
//   kmod_load PATH                    exit 0 if the module loaded
//   kmod_load -e ERRNO_NAME PATH      exit 0 only if loading fails with that
//                                     errno, e.g. -e EEXIST

#include "common.hpp"

#include <string>

namespace {

constexpr t::Usage kUsage{"usage: kmod_load [-e ERRNO_NAME] PATH\n"};

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	std::string expect;
	int opt = 0;
	while ((opt = getopt(argc, argv, "e:")) != -1) {
		if (opt != 'e')
			return kUsage.misuse();
		expect = optarg;
	}
	if (optind + 1 != argc)
		return kUsage.misuse();
	const t::ModuleFile ko("kmod_load", argv[optind]);
	if (!ko.ok())
		return 1;
	const long rc = ko.load("");
	const int err = errno;
	const char *path = ko.path();

	if (rc == 0) {
		std::printf("kmod_load: %s loaded\n", path);
		if (!expect.empty()) {
			std::fprintf(stderr,
				     "kmod_load: expected %s, but the "
				     "module loaded\n",
				     expect.c_str());
			return 1;
		}
		return 0;
	}
	const std::string got =
		strerrorname_np(err) ? strerrorname_np(err) : "?";
	std::printf("kmod_load: finit_module %s: %s\n", path,
		    t::errstr(err).c_str());
	if (!expect.empty() && got == expect)
		return 0;
	if (!expect.empty())
		std::fprintf(stderr, "kmod_load: expected %s, got %s\n",
			     expect.c_str(), got.c_str());
	return 1;
}
