// amlfs scrub [--fix] [MOUNT]
//
// Walks every object of every OST and has the OST verify every checksum
// block of it (the data never crosses the network). Lists the files with
// damaged objects by path, and the orphan objects: those whose inode no
// longer exists. --fix removes the orphans. Shows progress on a terminal.
// Exit status: 0 when everything checked out (or every orphan was
// removed), 1 when damage, an orphan left in place or an unreachable OST
// was found, 2 on a usage error.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::scrub {

namespace {

constexpr char kCmd[] = "scrub";
constexpr uint32_t kListPage = 1000;
constexpr uint64_t kVerifyStep = 256ull << 20;
constexpr auto kOstTimeout = std::chrono::seconds(120);

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n < (1 << 20))
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(n) / 1024);
  else if (n < (1ull << 30))
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else
    std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(n) / (1ull << 30));
  return buf;
}

std::string ObjectName(const ObjectId& o) {
  return std::to_string(o.ino) + "." + std::to_string(o.comp) + "." + std::to_string(o.stripe);
}

class Scrub {
 public:
  Scrub(Session& s, bool fix) : s_(s), fix_(fix), tty_(isatty(STDERR_FILENO)) {}

  int Run() {
    for (const OstInfo& ost : s_.info().osts) ScrubOst(ost);
    auto plural = [](uint64_t n, const char* what) {
      return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
    };
    std::string summary = "scrub: " + plural(s_.info().osts.size(), "OST") + ", " +
                          plural(objects_, "object") + ", " + Bytes(bytes_) +
                          " checked: " + plural(damaged_files_.size(), "damaged file") + ", " +
                          plural(orphans_, "orphan object");
    if (orphans_)
      summary += fix_ ? " (" + std::to_string(removed_) + " removed)" : " (--fix removes them)";
    if (unreachable_) summary += ", " + plural(unreachable_, "OST or object") + " not checked";
    std::printf("%s\n", summary.c_str());
    std::fflush(stdout);
    const bool clean = damaged_files_.empty() && removed_ == orphans_ && unreachable_ == 0;
    return clean ? 0 : 1;
  }

 private:
  void ScrubOst(const OstInfo& ost) {
    const std::string name = OstName(ost.index);
    auto client = s_.osts().Get(ost.index);
    if (!ost.up || !client.ok()) {
      Fail(kCmd, name + " is down: not checked");
      ++unreachable_;
      return;
    }
    ObjListReq list;
    list.max = kListPage;
    uint64_t count = 0, bytes = 0;
    for (;;) {
      auto page = (*client)->Call(list, kOstTimeout);
      if (!page.ok()) {
        EndProgress();
        Fail(kCmd, name + ": " + page.status().message() + ": not fully checked");
        ++unreachable_;
        return;
      }
      for (const ObjEntry& e : page->objects) {
        bytes += CheckObject(**client, ost.index, e);
        ++count;
        Progress(name, count, bytes);
      }
      if (page->done || page->objects.empty()) break;
      list.has_after = true;
      list.after = page->objects.back().object;
    }
    EndProgress();
    std::printf("%s: %llu objects, %s checked\n", name.c_str(),
                static_cast<unsigned long long>(count), Bytes(bytes).c_str());
    std::fflush(stdout);
    objects_ += count;
    bytes_ += bytes;
  }

  // Verifies one object and sorts out whose it is. Returns the bytes checked.
  uint64_t CheckObject(RpcClient& ost, OstIndex index, const ObjEntry& e) {
    const Owner& owner = OwnerOf(e.object.ino);
    if (!owner.exists) {
      ++orphans_;
      std::string what = "orphan: " + OstName(index) + " object " + ObjectName(e.object) + " (" +
                         Bytes(e.size) + "; inode " + std::to_string(e.object.ino) +
                         " does not exist)";
      if (fix_) {
        auto st = ost.Call(ObjDestroyReq{{e.object}}, kOstTimeout);
        if (st.ok()) ++removed_;
        what += st.ok() ? " removed" : " not removed: " + st.status().message();
      }
      Report(what);
      return 0;
    }
    uint64_t checked = 0;
    for (uint64_t off = 0; off < e.size; off += kVerifyStep) {
      auto v = ost.Call(ObjVerifyReq{e.object, off, kVerifyStep}, kOstTimeout);
      if (!v.ok()) {
        Report("error: " + OstName(index) + " object " + ObjectName(e.object) + ": " +
               v.status().message());
        ++unreachable_;
        break;
      }
      checked += v->verified;
      if (v->damaged) {
        damaged_files_.insert(e.object.ino);
        Report("damaged: " + owner.path + " (" + OstName(index) + " object " +
               ObjectName(e.object) + ", offset " + std::to_string(v->bad_offset) + ")");
        break;
      }
      if (v->verified < kVerifyStep) break;
    }
    return checked;
  }

  struct Owner {
    bool exists = true;
    std::string path;
  };
  // Whether inode `ino` exists, and a path to it; looked up once per inode.
  const Owner& OwnerOf(uint64_t ino) {
    auto it = owners_.find(ino);
    if (it != owners_.end()) return it->second;
    Owner o;
    auto attr = s_.Call(GetAttrReq{{}, InodeId(ino)});
    if (!attr.ok() && attr.status().code() == Code::kNotFound) {
      o.exists = false;
    } else {
      // Any other failure counts as "exists": never remove what may be data.
      auto p = s_.Call(Fid2PathReq{{}, InodeId(ino)});
      const std::string& root = s_.mount().root;
      o.path = p.ok() ? root + (root == "/" ? "" : "/") + p->path
                      : FidOf(ino) + " (inode " + std::to_string(ino) +
                            ", no path: " + p.status().message() + ")";
    }
    return owners_.emplace(ino, std::move(o)).first->second;
  }

  std::string OstName(OstIndex i) const {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "OST%04x", i.value());
    return buf;
  }

  void Report(const std::string& line) {
    EndProgress();
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  void Progress(const std::string& ost, uint64_t count, uint64_t bytes) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < std::chrono::milliseconds(200)) return;
    last_progress_ = now;
    std::fprintf(stderr, "\r%s: %llu objects, %s checked", ost.c_str(),
                 static_cast<unsigned long long>(count), Bytes(bytes).c_str());
    std::fflush(stderr);
    progress_shown_ = true;
  }
  void EndProgress() {
    if (!progress_shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    progress_shown_ = false;
  }

  Session& s_;
  const bool fix_;
  const bool tty_;
  std::map<uint64_t, Owner> owners_;
  std::set<uint64_t> damaged_files_;  // inodes
  uint64_t objects_ = 0, bytes_ = 0, orphans_ = 0, removed_ = 0, unreachable_ = 0;
  std::chrono::steady_clock::time_point last_progress_{};
  bool progress_shown_ = false;
};

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto fix = std::make_shared<bool>(false);
  auto root = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "scrub", "Verify every checksum on every OST; list damaged files and orphan objects");
  sub->add_flag("--fix", *fix, "Remove orphan objects (whose inode no longer exists)");
  sub->add_option("mount", *root, "The mount point (default: the only amlfs mount)");
  sub->callback([fix, root, rc] {
    if (geteuid() != 0) {
      *rc = Fail(kCmd, "scrub needs root (it reads every file's path)", 2);
      return;
    }
    Result<Mount> m = Error(Code::kNotFound, "");
    if (root->empty()) {
      auto all = AllMounts();
      if (all.size() != 1) {
        *rc =
            Fail(kCmd,
                 all.empty() ? "no amlfs mount on this node" : "several amlfs mounts: name one", 2);
        return;
      }
      m = all.front();
    } else {
      m = MountOf(*root);
    }
    if (!m.ok()) {
      *rc = Fail(kCmd, m.status().message(), 2);
      return;
    }
    auto s = Session::Connect(*m);
    if (!s.ok()) {
      *rc = Fail(kCmd,
                 "cannot reach the metadata server of " + m->root + ": " + s.status().message());
      return;
    }
    *rc = Scrub(**s, *fix).Run();
  });
}

}  // namespace amlfs::tools::scrub
