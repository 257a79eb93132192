// bpffs_ops: exercise a bpffs with bpf_preload loaded, in a private mount
// namespace so that nothing leaks into the caller's mounts.
//
//  - two independent bpffs mounts, each showing maps.debug and progs.debug
//    (regular files, mode 0400): the exact header line (for maps.debug the
//    variant of the running kernel, t::maps_variant()) and every row in the
//    kernel's format (debug_format.hpp), iterator.rodata, dump_bpf_map and
//    dump_bpf_prog listed;
//  - mkdir, pinning a map, renameat2(RENAME_EXCHANGE) of two directories and
//    of a directory with the pinned map, RENAME_NOREPLACE refusing an existing
//    name with EEXIST and accepting a new one;
//  - cleanup (unlink, rmdir, umount), after which the map is freed.
//
// Exit status 0 only if every check holds; one line per failed check.

#include "debug_format.hpp"

#include <bpf/bpf.h>
#include <chrono>
#include <sched.h>
#include <cstdio>
#include <optional>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>

namespace {

constexpr t::Usage kUsage{
	"usage: bpffs_ops [-n] [-v] [BASE]\n"
	"  BASE  where to create the temporary mount points (default /tmp)\n"
	"  -n    do not expect maps.debug/progs.debug (no bpf_preload)\n"
	"  -v    also print passed checks\n"};

t::Checks c("bpffs_ops");

bool is_dir(const std::string &p)
{
	struct stat st{};
	return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool missing(const std::string &p)
{
	struct stat st{};
	return stat(p.c_str(), &st) < 0 && errno == ENOENT;
}

// Id of the map pinned at path, 0 if there is none.
__u32 pinned_map_id(const std::string &path)
{
	const int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		return 0;
	struct bpf_map_info info = {};
	const __u32 id = t::get_info(fd, info) == 0 ? info.id : 0;
	close(fd);
	return id;
}

bool mkdir_ok(const std::string &p)
{
	const int rc = mkdir(p.c_str(), 0755);
	return c.expect_ok(rc, errno, "mkdir %s", p.c_str());
}

void check_debug_file(const std::string &path, bool maps)
{
	struct stat st{};
	if (!c.expect_ok(stat(path.c_str(), &st), errno, "stat %s",
			 path.c_str()))
		return;
	c.expect(S_ISREG(st.st_mode), "%s is a regular file", path.c_str());
	c.expect((st.st_mode & 07777) == 0400, "%s has mode 0400 (is %04o)",
		 path.c_str(), st.st_mode & 07777);
	const auto text = t::read_file(path);
	if (!c.expect_ok(text ? 0 : -1, errno, "read %s", path.c_str()) ||
	    !text)
		return;
	dbg::Options o;
	o.have_variant = true;
	o.variant = t::maps_variant();
	if (maps) {
		o.maps = {"iterator.rodata"};
		dbg::check_maps(*text, path, o, c);
	} else {
		o.progs = {{"dump_bpf_map", "bpf_iter_bpf_map"},
			   {"dump_bpf_prog", "bpf_iter_bpf_prog"}};
		dbg::check_progs(*text, path, o, c);
	}
}

int rename2(const std::string &from, const std::string &to, unsigned flags)
{
	return renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags);
}

// Map ids are freed asynchronously after the last reference goes away.
bool wait_map_gone(__u32 id)
{
	const auto gone = [id](const t::Stopwatch &sw) -> std::optional<bool> {
		const int fd = bpf_map_get_fd_by_id(id);
		if (fd < 0 && errno == ENOENT)
			return true;
		if (fd >= 0)
			close(fd);
		if (sw.ms() > 5000)
			return false;
		return std::nullopt;
	};
	return t::poll(std::chrono::milliseconds(100), gone);
}

} // namespace

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	bool expect_preload = true;
	int opt = 0;
	while ((opt = getopt(argc, argv, "nvh")) != -1) {
		switch (opt) {
		case 'n':
			expect_preload = false;
			break;
		case 'v':
			c.set_verbose();
			break;
		case 'h':
			return kUsage.help();
		default:
			return kUsage.misuse();
		}
	}
	const std::string base = optind < argc ? argv[optind] : "/tmp";

	// Private mount namespace: our mounts vanish with us, whatever happens.
	if (!c.expect_ok(unshare(CLONE_NEWNS), errno, "unshare(CLONE_NEWNS)") ||
	    !c.expect_ok(
		    mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
		    errno, "make / private (MS_REC|MS_PRIVATE)"))
		return c.finish();

	std::string tmpl = base + "/bpffs_ops.XXXXXX";
	const bool made = mkdtemp(tmpl.data()) != nullptr;
	if (!c.expect_ok(made ? 0 : -1, errno, "mkdtemp %s", tmpl.c_str()))
		return c.finish();
	const std::string top = tmpl;
	const std::string mnt[2] = {top + "/a", top + "/b"};
	bool mounted[2] = {false, false};

	for (int i = 0; i < 2; i++) {
		if (!mkdir_ok(mnt[i]))
			continue;
		mounted[i] = c.expect_ok(
			mount("bpf", mnt[i].c_str(), "bpf", 0, nullptr), errno,
			"mount -t bpf bpf %s", mnt[i].c_str());
	}

	if (mounted[0] && mounted[1]) {
		// 1. Both mounts show the preload files.
		for (const auto &m : mnt) {
			if (expect_preload) {
				check_debug_file(m + "/maps.debug", true);
				check_debug_file(m + "/progs.debug", false);
			} else {
				c.expect(missing(m + "/maps.debug"),
					 "%s/maps.debug absent (-n)",
					 m.c_str());
			}
		}

		// 2. The mounts are separate instances.
		const std::string a = mnt[0];
		const std::string b = mnt[1];
		if (mkdir_ok(a + "/only_in_a")) {
			c.expect(missing(b + "/only_in_a"),
				 "a directory made in one bpffs mount does not "
				 "show up in the other");
			c.expect_ok(rmdir((a + "/only_in_a").c_str()), errno,
				    "rmdir %s/only_in_a", a.c_str());
		}

		// 3. Directories with a marker inside, and a pinned map.
		const bool dirs =
			mkdir_ok(a + "/dir1") && mkdir_ok(a + "/dir1/in1") &&
			mkdir_ok(a + "/dir2") && mkdir_ok(a + "/dir2/in2");
		const int map_fd = bpf_map_create(
			BPF_MAP_TYPE_ARRAY, "bpffs_ops", 4, 4, 1, nullptr);
		c.expect_ok(map_fd, errno,
			    "bpf_map_create(ARRAY, \"bpffs_ops\")");
		__u32 map_id = 0;
		bool pinned = false;
		if (map_fd >= 0) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			if (c.expect_ok(
				    bpf_obj_get_info_by_fd(map_fd, &info, &len),
				    errno, "map info"))
				map_id = info.id;
			pinned = c.expect_ok(
				bpf_obj_pin(map_fd, (a + "/map").c_str()),
				errno, "bpf_obj_pin %s/map", a.c_str());
			if (pinned)
				c.expect(pinned_map_id(a + "/map") == map_id,
					 "bpf_obj_get %s/map returns map id %u",
					 a.c_str(), map_id);
			close(map_fd);
		}

		if (dirs && pinned) {
			// 4. Exchange two directories.
			if (c.expect_ok(rename2(a + "/dir1", a + "/dir2",
						RENAME_EXCHANGE),
					errno,
					"renameat2 dir1 <-> dir2 "
					"RENAME_EXCHANGE"))
				c.expect(
					is_dir(a + "/dir1/in2") &&
						is_dir(a + "/dir2/in1") &&
						missing(a + "/dir1/in1") &&
						missing(a + "/dir2/in2"),
					"after the exchange dir1 holds in2 and "
					"dir2 holds in1");

			// 5. Exchange a directory with the pinned map.
			if (c.expect_ok(rename2(a + "/dir1", a + "/map",
						RENAME_EXCHANGE),
					errno,
					"renameat2 dir1 <-> map "
					"RENAME_EXCHANGE"))
				c.expect(
					pinned_map_id(a + "/dir1") == map_id &&
						is_dir(a + "/map/in2"),
					"after the exchange dir1 is the pinned "
					"map (id %u) and map is the directory",
					map_id);

			// 6. RENAME_NOREPLACE onto an existing name.
			const int rc = rename2(a + "/dir2", a + "/dir1",
					       RENAME_NOREPLACE);
			const int err = errno;
			c.expect(
				rc < 0 && err == EEXIST,
				"renameat2 dir2 -> dir1 RENAME_NOREPLACE fails "
				"with EEXIST (got %s)",
				rc < 0 ? t::errstr(err).c_str() : "success");
			c.expect(pinned_map_id(a + "/dir1") == map_id &&
					 is_dir(a + "/dir2/in1"),
				 "the refused rename left both entries intact");

			// 7. ... and onto a new name.
			if (c.expect_ok(rename2(a + "/dir2", a + "/dir3",
						RENAME_NOREPLACE),
					errno,
					"renameat2 dir2 -> dir3 "
					"RENAME_NOREPLACE"))
				c.expect(is_dir(a + "/dir3/in1") &&
						 missing(a + "/dir2"),
					 "dir2 is now dir3");
		}

		// 8. Cleanup, whatever state the renames left behind.
		for (const char *f : {"/dir1", "/map", "/dir2", "/dir3"}) {
			const std::string p = a + f;
			if (missing(p))
				continue;
			if (is_dir(p)) {
				for (const char *in : {"/in1", "/in2"})
					if (!missing(p + in))
						c.expect_ok(
							rmdir((p + in).c_str()),
							errno, "rmdir %s%s",
							p.c_str(), in);
				c.expect_ok(rmdir(p.c_str()), errno, "rmdir %s",
					    p.c_str());
			} else {
				c.expect_ok(unlink(p.c_str()), errno,
					    "unlink %s", p.c_str());
			}
		}
		if (map_id != 0)
			c.expect(wait_map_gone(map_id),
				 "map id %u freed after unpinning (5 s)",
				 map_id);
	}

	for (int i = 0; i < 2; i++) {
		if (mounted[i])
			c.expect_ok(umount(mnt[i].c_str()), errno, "umount %s",
				    mnt[i].c_str());
		rmdir(mnt[i].c_str());
	}
	c.expect_ok(rmdir(top.c_str()), errno, "rmdir %s", top.c_str());
	return c.finish();
}
