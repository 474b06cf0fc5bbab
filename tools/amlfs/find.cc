// lfs find PATH... [--type f|d|l] [--name GLOB] [--size [+-]N[kMGTP]]
//   [--mtime [+-]N] [--maxdepth N] [--stripe-count [+-]N]
//   [--stripe-size [+-]N[kMG]] [--ost N[,...]]   ("!" before a test negates it;
//   single-dash spellings work too)
//
// Walks the tree with the metadata server's bulk readdir: each page of
// entries comes with every entry's attributes and layout, so a test costs
// no round trip per file.
#include <fnmatch.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <functional>
#include <sstream>
#include <string>

#include "common/layout.h"
#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::find {

namespace {

constexpr char kCmd[] = "find";
constexpr uint32_t kIfMt = 0170000, kIfDir = 0040000, kIfReg = 0100000, kIfLnk = 0120000;

// One entry as the tests see it.
struct Node {
  const std::string& name;
  uint32_t mode;
  const Attr& attr;
  const Layout* layout;  // regular files
};

using Test = std::function<bool(const Node&)>;

// "+N" (more than), "-N" (less than) or "N" (exactly), compared in `unit`s
// rounded up, as find(1) does.
struct Compare {
  int sign = 0;
  uint64_t n = 0;
  uint64_t unit = 1;
  bool Match(uint64_t v) const {
    uint64_t scaled = unit <= 1 ? v : (v + unit - 1) / unit;
    if (sign > 0) return scaled > n;
    if (sign < 0) return scaled < n;
    return scaled == n;
  }
};

Result<Compare> ParseCompare(const std::string& text, bool units) {
  Compare c;
  std::string s = text;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    c.sign = s[0] == '+' ? 1 : -1;
    s.erase(0, 1);
  }
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])))
    return Error(Code::kInvalid, "bad number '" + text + "'");
  size_t p = 0;
  try {
    c.n = std::stoull(s, &p);
  } catch (...) {
    return Error(Code::kInvalid, "bad number '" + text + "'");
  }
  std::string suffix = s.substr(p);
  if (!suffix.empty()) {
    if (!units || suffix.size() != 1) return Error(Code::kInvalid, "bad number '" + text + "'");
    const std::string letters = "kmgtpe";
    auto at = letters.find(static_cast<char>(std::tolower(static_cast<unsigned char>(suffix[0]))));
    if (at == std::string::npos) return Error(Code::kInvalid, "bad unit in '" + text + "'");
    c.unit = 1ull << (10 * (at + 1));
  }
  return c;
}

struct Options {
  std::vector<std::string> paths;
  std::vector<Test> tests;
  int maxdepth = -1;
  bool needs_layout = false;
};

int Parse(const std::vector<std::string>& args, Options* o) {
  bool negate = false;
  const time_t now = time(nullptr);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "!") {
      negate = !negate;
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a[1] != '-') a = "-" + a;  // -name == --name
    if (a.rfind("--", 0) != 0) {
      if (!o->tests.empty() || negate)
        return Fail(kCmd, "paths must come before the tests: '" + a + "'", 22);
      o->paths.push_back(args[i]);
      continue;
    }
    if (i + 1 >= args.size()) return Fail(kCmd, a + " needs a value", 22);
    std::string v = args[++i];
    Test t;
    if (a == "--name") {
      t = [v](const Node& n) { return fnmatch(v.c_str(), n.name.c_str(), 0) == 0; };
    } else if (a == "--type") {
      uint32_t want = v == "f" ? kIfReg : v == "d" ? kIfDir : v == "l" ? kIfLnk : 0;
      if (!want) return Fail(kCmd, "--type takes f, d or l, not '" + v + "'", 22);
      t = [want](const Node& n) { return (n.mode & kIfMt) == want; };
    } else if (a == "--size") {
      auto c = ParseCompare(v, true);
      if (!c.ok()) return Fail(kCmd, "--size: " + c.status().message(), 22);
      t = [c = *c](const Node& n) { return c.Match(n.attr.size); };
    } else if (a == "--mtime") {
      auto c = ParseCompare(v, false);
      if (!c.ok()) return Fail(kCmd, "--mtime: " + c.status().message(), 22);
      t = [c = *c, now](const Node& n) {
        int64_t age = now - n.attr.mtime.sec;
        return c.Match(age <= 0 ? 0 : static_cast<uint64_t>(age) / 86400);
      };
    } else if (a == "--maxdepth") {
      try {
        size_t p = 0;
        o->maxdepth = std::stoi(v, &p);
        if (p != v.size() || o->maxdepth < 0) throw 0;
      } catch (...) {
        return Fail(kCmd, "--maxdepth takes a number >= 0, not '" + v + "'", 22);
      }
      continue;
    } else if (a == "--stripe-count" || a == "--stripe_count") {
      auto c = ParseCompare(v, false);
      if (!c.ok()) return Fail(kCmd, "--stripe-count: " + c.status().message(), 22);
      o->needs_layout = true;
      t = [c = *c](const Node& n) {
        return n.layout && !n.layout->empty() && c.Match(n.layout->comps.back().osts.size());
      };
    } else if (a == "--stripe-size" || a == "--stripe_size") {
      auto c = ParseCompare(v, true);
      if (!c.ok()) return Fail(kCmd, "--stripe-size: " + c.status().message(), 22);
      o->needs_layout = true;
      t = [c = *c](const Node& n) {
        return n.layout && !n.layout->empty() && c.Match(n.layout->comps.back().stripe_size);
      };
    } else if (a == "--ost" || a == "--obd") {
      auto l = ParseOstList(v);
      if (!l.ok()) return Fail(kCmd, "--ost: " + l.status().message(), 22);
      o->needs_layout = true;
      t = [l = *l](const Node& n) {
        if (!n.layout) return false;
        for (const auto& c : n.layout->comps)
          for (auto ost : c.osts)
            for (auto want : l)
              if (ost == want) return true;
        return false;
      };
    } else if (a == "--layout" || a == "--L") {
      // Files with a component of one of these patterns (Lustre's -L).
      bool mdt = false, raid0 = false;
      std::istringstream is(v);
      for (std::string p; std::getline(is, p, ',');) {
        if (p == "mdt")
          mdt = true;
        else if (p == "raid0")
          raid0 = true;
        else
          return Fail(kCmd, "--layout takes mdt or raid0 (comma separated), not '" + p + "'", 22);
      }
      o->needs_layout = true;
      t = [mdt, raid0](const Node& n) {
        if (!n.layout) return false;
        for (const auto& c : n.layout->comps)
          if (c.on_mdt() ? mdt : raid0) return true;
        return false;
      };
    } else {
      return Fail(kCmd, "unknown test '" + args[i - 1] + "' (see --help)", 22);
    }
    if (negate) t = [t](const Node& n) { return !t(n); };
    negate = false;
    o->tests.push_back(std::move(t));
  }
  if (o->paths.empty()) return Fail(kCmd, "give at least one path", 22);
  return 0;
}

class Walker {
 public:
  Walker(const Options& o, Session& s) : o_(o), s_(s) {}

  bool Match(const Node& n) const {
    for (const auto& t : o_.tests)
      if (!t(n)) return false;
    return true;
  }

  // Lists directory `ino` (at `depth`), printing matches; false on an error.
  bool Walk(const std::string& path, InodeId ino, int depth) {
    if (o_.maxdepth >= 0 && depth >= o_.maxdepth) return true;
    std::string prefix = path.back() == '/' ? path : path + "/";
    ReadDirReq r;
    r.ino = ino;
    r.max_entries = 4096;
    r.plus = true;
    r.layouts = o_.needs_layout;
    bool ok = true;
    std::vector<std::pair<std::string, InodeId>> subdirs;
    for (;;) {
      auto page = s_.Call(r);
      if (!page.ok()) {
        Fail(kCmd, "cannot read '" + path + "': " + page.status().message());
        return false;
      }
      for (const auto& e : page->entries) {
        const bool reg = (e.mode & kIfMt) == kIfReg;
        Node n{e.name, e.mode, e.attr, reg ? &e.layout : nullptr};
        std::string child = prefix + e.name;
        if (Match(n)) {
          std::fwrite(child.data(), 1, child.size(), stdout);
          std::fputc('\n', stdout);
        }
        if ((e.mode & kIfMt) == kIfDir) subdirs.emplace_back(std::move(child), e.ino);
      }
      if (page->eof || page->entries.empty()) break;
      r.after = page->entries.back().name;
    }
    for (const auto& [child, child_ino] : subdirs) ok = Walk(child, child_ino, depth + 1) && ok;
    return ok;
  }

 private:
  const Options& o_;
  Session& s_;
};

int Run(const Options& o) {
  int rc = 0;
  for (const auto& p : o.paths) {
    auto t = OpenTarget(kCmd, p);
    if (!t) {
      rc = 2;
      continue;
    }
    Walker w(o, *t->session);
    auto top = t->session->Call(GetLayoutReq{{}, InodeId(t->st.st_ino)});
    if (!top.ok()) {
      rc = Fail(kCmd, "'" + p + "': " + top.status().message());
      continue;
    }
    std::string name = p;
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    if (auto slash = name.find_last_of('/'); slash != std::string::npos && name.size() > 1)
      name = name.substr(slash + 1);
    Node n{name, top->attr.mode, top->attr, S_ISREG(t->st.st_mode) ? &top->layout : nullptr};
    if (w.Match(n)) std::printf("%s\n", p.c_str());
    if (S_ISDIR(t->st.st_mode) && !w.Walk(p, InodeId(t->st.st_ino), 0)) rc = 1;
  }
  std::fflush(stdout);
  return rc;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto* sub = app.add_subcommand("find", "Find files by name, type, size, age and layout");
  sub->allow_extras();
  sub->prefix_command();
  sub->footer(R"(Usage: find PATH... [[!] --type f|d|l] [[!] --name GLOB] [[!] --size [+-]N[kMGTP]]
            [[!] --mtime [+-]N] [--maxdepth N] [[!] --stripe-count [+-]N]
            [[!] --stripe-size [+-]N[kMG]] [[!] --ost N[,...]] [[!] --layout|-L mdt,raid0]
  +N means more than N, -N less than N, N exactly N (sizes rounded up to the unit,
  mtime in days). Single-dash spellings (-name, -type...) work too.)");
  sub->callback([sub, rc] {
    Options o;
    *rc = Parse(sub->remaining(), &o);
    if (*rc == 0) *rc = Run(o);
  });
}

}  // namespace amlfs::tools::find
