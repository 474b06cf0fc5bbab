// lfs df [-h|-H] [-i] [-v] [PATH]: one row per MDT and OST, then the summary,
// in lfs-df(1)'s layout. An OST that is down is shown as inactive.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::df {

namespace {

struct Options {
  bool human = false, si = false, inodes = false, verbose = false;
  std::string path;
};

struct Usage {
  uint64_t total = 0, used = 0, avail = 0;
};

std::string Cook(uint64_t v, const Options& o) {
  if (!o.human && !o.si) return std::to_string(v);
  const double base = o.si ? 1000 : 1024;
  const char* units = o.si ? "kMGTPEZY" : "KMGTPEZY";
  double d = static_cast<double>(v);
  int i = 0;
  while (d > base && i < 8) {
    d /= base;
    ++i;
  }
  if (i == 0) return std::to_string(v);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%c", d, units[i - 1]);
  return buf;
}

std::string Percent(const Usage& u) {
  uint64_t sum = u.used + u.avail;
  int pct = 0;
  if (sum > 0)
    pct =
        static_cast<int>(std::ceil(static_cast<double>(u.used) * 100.0 / static_cast<double>(sum)));
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%3d%%", pct);
  return buf;
}

void Row(const std::string& uuid, const Usage& u, const std::string& where, const Options& o) {
  std::printf("%-20s %11s %11s %11s %4s %s\n", uuid.c_str(), Cook(u.total, o).c_str(),
              Cook(u.used, o).c_str(), Cook(u.avail, o).c_str(), Percent(u).c_str(), where.c_str());
}

Usage Blocks(uint64_t total, uint64_t free, uint64_t avail, const Options& o) {
  int shift = o.human || o.si ? 0 : 10;
  return Usage{total >> shift, (total - std::min(free, total)) >> shift, avail >> shift};
}

int Show(const Mount& m, const Options& o) {
  auto s = Session::Connect(m);
  if (!s.ok())
    return Fail("df",
                "cannot reach the metadata server of " + m.root + ": " + s.status().message());
  auto fs = (*s)->Call(StatFsReq{});
  if (!fs.ok()) return Fail("df", m.root + ": " + fs.status().message());
  const bool cooked = o.human || o.si;
  if (o.inodes)
    std::printf("%-20s %11s %11s %11s %4s %s\n", "UUID", "Inodes", "IUsed", "IFree", "IUse%",
                "Mounted on");
  else
    std::printf("%-20s %11s %11s %11s %4s %s\n", "UUID", cooked ? "bytes" : "1K-blocks", "Used",
                "Available", "Use%", "Mounted on");
  Usage mdt = o.inodes
                  ? Usage{fs->total_inodes, fs->total_inodes - fs->free_inodes, fs->free_inodes}
                  : Blocks(fs->mdt_total_bytes, fs->mdt_free_bytes, fs->mdt_avail_bytes, o);
  Row((*s)->MdtUuid(0), mdt, m.root + "[MDT:0]", o);
  Usage sum;
  uint64_t ost_free_inodes = 0;
  for (const auto& ost : (*s)->info().osts) {
    std::string uuid = (*s)->OstUuid(ost.index);
    if (!ost.up) {
      std::printf("%-20s: inactive device\n", uuid.c_str());
      continue;
    }
    Usage u = o.inodes ? Usage{ost.total_inodes,
                               ost.total_inodes - std::min(ost.free_inodes, ost.total_inodes),
                               ost.free_inodes}
                       : Blocks(ost.capacity_bytes, ost.free_bytes, ost.avail_bytes, o);
    Row(uuid, u, m.root + "[OST:" + std::to_string(ost.index.value()) + "]", o);
    sum.total += u.total;
    sum.used += u.used;
    sum.avail += u.avail;
    ost_free_inodes += ost.free_inodes;
  }
  if (o.inodes) {
    // Files are limited by the MDT, and by the OSTs' free inodes if fewer.
    sum = mdt;
    if (ost_free_inodes < mdt.avail) {
      sum.avail = ost_free_inodes;
      sum.total = sum.used + sum.avail;
    }
  }
  std::printf("\n");
  Row("filesystem_summary:", sum, m.root, o);
  std::printf("\n");
  return 0;
}

int Run(const Options& o) {
  std::vector<Mount> mounts;
  if (!o.path.empty()) {
    auto m = MountOf(o.path);
    if (!m.ok()) return Fail("df", m.status().message(), 2);
    mounts.push_back(*m);
  } else {
    mounts = AllMounts();
    if (mounts.empty()) return Fail("df", "no amlfs file system is mounted", 2);
  }
  int rc = 0;
  for (const auto& m : mounts)
    if (int r = Show(m, o)) rc = r;
  std::fflush(stdout);
  return rc;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("df", "Show space and inode use per MDT and OST");
  sub->set_help_flag("--help", "Print this help message and exit");
  sub->add_flag("-h,--human-readable", o->human, "Sizes in powers of 1024 (K, M, G...)");
  sub->add_flag("-H,--si", o->si, "Sizes in powers of 1000 (k, M, G...)");
  sub->add_flag("-i,--inodes", o->inodes, "Inodes instead of blocks");
  sub->add_flag("-v,--verbose", o->verbose, "Accepted for compatibility");
  sub->add_option("path", o->path, "A path on the file system (default: every amlfs mount)");
  sub->callback([o, rc] { *rc = Run(*o); });
}

}  // namespace amlfs::tools::df
