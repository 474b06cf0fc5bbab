// lfs setstripe [-E END] [-L mdt|raid0] [-c COUNT] [-S SIZE] [-i START_OST] [-o OST_LIST] ...
//               PATH...
// lfs setstripe -d DIR
//
// Works through the mount: a directory's default and a new file's layout
// are set with the "lustre.lov" attribute, so the kernel checks permissions
// and sees the new file at once.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <set>

#include "common/layout.h"
#include "tools/amlfs/commands.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::setstripe {

namespace {

constexpr char kCmd[] = "setstripe";
constexpr char kXattr[] = "lustre.lov";

struct Request {
  LayoutTemplate layout;
  bool remove = false;
  std::vector<std::string> paths;
};

// Parses the arguments in order: each -E starts a component, and the
// options after it describe that component. Returns 0 or the exit code.
}  // namespace

int ParseArgs(const char* kCmd, const std::vector<std::string>& args, LayoutTemplate* layout,
              bool* remove, std::vector<std::string>* paths) {
  std::vector<ComponentTemplate> comps(1);
  std::vector<bool> on_mdt(1);  // -L mdt, per component
  bool progressive = false, any_option = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], val;
    bool has_val = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      val = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      has_val = true;
    }
    auto value = [&](std::string* out) {
      if (has_val) {
        *out = val;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    ComponentTemplate& c = comps.back();
    std::string v;
    long n = 0;
    if (a == "-d" || a == "--delete") {
      *remove = true;
    } else if (a == "-E" || a == "--component-end") {
      if (!value(&v)) return Fail(kCmd, "-E needs an end offset", 22);
      if (progressive || any_option) {
        if (!progressive)
          return Fail(kCmd, "invalid layout: give -E before the first component's options", 22);
        comps.emplace_back();
        on_mdt.push_back(false);
      }
      progressive = true;
      if (v == "-1" || v == "eof" || v == "EOF") {
        comps.back().end = kLayoutEof;
      } else {
        auto e = ParseSize(v);
        if (!e.ok() || *e == 0 || *e % kStripeSizeUnit != 0)
          return Fail(
              kCmd,
              "invalid component end '" + v + "': must be a multiple of 64 KiB, or -1 for EOF", 22);
        comps.back().end = *e;
      }
      any_option = true;
    } else if (a == "-c" || a == "--stripe-count") {
      if (!value(&v) || !ParseIntIn(v, -1, kMaxStripeCount, &n))
        return Fail(kCmd,
                    "invalid stripe count '" + v + "': must be -1 (all OSTs), 0 (default) or 1.." +
                        std::to_string(kMaxStripeCount),
                    22);
      c.stripe_count = static_cast<int32_t>(n);
      any_option = true;
    } else if (a == "-S" || a == "--stripe-size") {
      if (!value(&v)) return Fail(kCmd, "-S needs a size", 22);
      auto s = ParseSize(v);
      if (!s.ok()) return Fail(kCmd, "invalid stripe size '" + v + "'", 22);
      if (*s != 0 && !ValidateStripeSize(*s).ok())
        return Fail(kCmd,
                    "invalid stripe size '" + v + "': must be a multiple of 64 KiB and below 4 GiB",
                    22);
      c.stripe_size = *s;
      any_option = true;
    } else if (a == "-i" || a == "--stripe-index" || a == "--stripe-offset") {
      if (!value(&v) || !ParseIntIn(v, -1, 65535, &n))
        return Fail(kCmd, "invalid stripe offset '" + v + "'", 22);
      c.stripe_offset = static_cast<int32_t>(n);
      any_option = true;
    } else if (a == "-L" || a == "--layout") {
      if (!value(&v) || (v != "mdt" && v != "raid0"))
        return Fail(kCmd, "invalid layout '" + v + "': mdt or raid0", 22);
      on_mdt.back() = v == "mdt";
      any_option = true;
    } else if (a == "-o" || a == "--ost" || a == "--ost-list") {
      if (!value(&v)) return Fail(kCmd, "-o needs an OST list", 22);
      auto l = ParseOstList(v);
      if (!l.ok()) return Fail(kCmd, "invalid OST target(s) '" + v + "'", 22);
      c.osts = *l;
      any_option = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return Fail(kCmd, "unknown option '" + a + "' (see --help)", 22);
    } else {
      paths->push_back(args[i]);
    }
  }
  if (paths->empty()) return Fail(kCmd, "FILE must be specified", 22);
  if (*remove) {
    if (any_option) return Fail(kCmd, "-d cannot be combined with layout options", 22);
    return 0;
  }
  for (size_t i = 0; i < comps.size(); ++i) {
    if (!on_mdt[i]) continue;
    ComponentTemplate& c = comps[i];
    if (c.stripe_count != 0 || c.stripe_offset >= 0 || !c.osts.empty())
      return Fail(kCmd, "invalid layout: an MDT component (-L mdt) has no OSTs (-c, -i, -o)", 22);
    if (c.stripe_size != 0 && c.stripe_size != c.end)
      return Fail(kCmd, "invalid layout: an MDT component's stripe size is its length (-E)", 22);
    c = ComponentTemplate::Mdt(c.end);
  }
  for (auto& c : comps)
    if (!c.osts.empty() && !c.on_mdt()) {
      if (c.stripe_count > 0 && static_cast<size_t>(c.stripe_count) != c.osts.size())
        return Fail(kCmd,
                    "stripe count " + std::to_string(c.stripe_count) + " does not match the " +
                        std::to_string(c.osts.size()) + " OSTs given with -o",
                    22);
      if (c.stripe_offset >= 0 && c.osts[0].value() != static_cast<uint32_t>(c.stripe_offset))
        return Fail(kCmd, "-i " + std::to_string(c.stripe_offset) + " is not the first OST of -o",
                    22);
    }
  layout->comps = comps;
  if (!any_option) layout->comps = {ComponentTemplate{}};
  Status st = ValidateTemplate((*layout));
  if (!st.ok()) return Fail(kCmd, "invalid layout: " + st.message(), 22);
  if (!any_option) (*layout) = LayoutTemplate::Plain(0, 0);
  return 0;
}

namespace {

// Checks the OSTs the layout names against the file system; warns about a
// count above the number of OSTs. Returns 0 or the exit code.
int CheckOsts(const std::string& path, const LayoutTemplate& t, const FsInfoRsp& info) {
  std::set<uint32_t> have;
  for (const auto& o : info.osts) have.insert(o.index.value());
  for (const auto& c : t.comps) {
    std::vector<uint32_t> named;
    if (c.on_mdt()) continue;
    for (auto o : c.osts) named.push_back(o.value());
    if (c.stripe_offset >= 0) named.push_back(static_cast<uint32_t>(c.stripe_offset));
    for (uint32_t o : named)
      if (!have.count(o))
        return Fail(kCmd,
                    "setstripe error for '" + path + "': OST index " + std::to_string(o) +
                        " does not exist (the file system has " + std::to_string(have.size()) +
                        " OSTs)",
                    22);
    if (c.stripe_count > static_cast<int32_t>(have.size()))
      Fail(kCmd,
           "'" + path + "': stripe count " + std::to_string(c.stripe_count) +
               " is larger than the " + std::to_string(have.size()) +
               " OSTs: striping over all of them",
           0);
  }
  return 0;
}

std::string Parent(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Base(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int SetOne(std::string path, const Request& req) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  // Whether the path exists is asked of the metadata server, not the kernel:
  // a failed lookup through the mount would leave a negative dentry that
  // hides the file this command is about to create.
  const std::string parent = Parent(path), name = Base(path);
  struct stat pst {};
  if (stat(parent.c_str(), &pst) != 0)
    return Fail(kCmd, "cannot access '" + path + "': " + std::strerror(errno), 2);
  auto m = MountOf(parent);
  if (!m.ok()) return Fail(kCmd, m.status().message(), 22);
  auto session = Session::Connect(*m);
  if (!session.ok())
    return Fail(
        kCmd, "cannot reach the metadata server of " + m->root + ": " + session.status().message(),
        1);
  Session& s = **session;
  bool exists = false, is_dir = false;
  if (name == "." || name == ".." || name == "/" || path == m->root) {
    exists = is_dir = true;
  } else {
    auto found = s.Call(LookupReq{{}, InodeId(pst.st_ino), name});
    if (found.ok()) {
      exists = true;
      is_dir = (found->attr.mode & S_IFMT) == S_IFDIR;
    } else if (found.status().code() != Code::kNotFound) {
      return Fail(kCmd, "cannot access '" + path + "': " + found.status().message(), 2);
    }
  }
  if (req.remove) {
    if (!exists) return Fail(kCmd, "cannot access '" + path + "': No such file or directory", 2);
    if (!is_dir)
      return Fail(kCmd, "'" + path + "' is not a directory: -d removes a directory's default", 22);
    if (removexattr(path.c_str(), kXattr) != 0 && errno != ENODATA)
      return Fail(kCmd,
                  "cannot remove the default layout of '" + path + "': " + std::strerror(errno), 1);
    return 0;
  }
  if (int rc = CheckOsts(path, req.layout, s.info())) return rc;
  if (exists) {
    if (!is_dir) return Fail(kCmd, "setstripe error for '" + path + "': stripe already set", 17);
    std::string value = FormatTemplate(req.layout);
    if (setxattr(path.c_str(), kXattr, value.data(), value.size(), 0) != 0)
      return Fail(kCmd, "cannot set the default layout of '" + path + "': " + std::strerror(errno),
                  1);
    return 0;
  }
  mode_t mask = umask(0);
  umask(mask);
  MknodReq mk;
  mk.parent = InodeId(pst.st_ino);
  mk.name = name;
  mk.mode = S_IFREG | (0666 & ~mask);
  mk.layout = req.layout;
  (void)ValidateTemplate(mk.layout);  // all defaults: inherit the directory's
  auto made = s.Call(mk);
  if (!made.ok()) {
    if (made.status().code() == Code::kExists)
      return Fail(kCmd, "setstripe error for '" + path + "': stripe already set", 17);
    return Fail(kCmd, "setstripe error for '" + path + "': " + made.status().message(), 1);
  }
  return 0;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto* sub = app.add_subcommand("setstripe",
                                 "Set a directory's default layout or create a file with a layout");
  sub->allow_extras();
  sub->prefix_command();
  sub->footer(R"(Usage: setstripe [--component-end|-E END] [--layout|-L mdt|raid0]
                 [--stripe-count|-c COUNT] [--stripe-size|-S SIZE]
                 [--stripe-index|-i START_OST] [--ost|-o OST_LIST] ... PATH...
       setstripe -d DIR
  -c COUNT   OSTs to stripe over: -1 all, 0 the file system default
  -S SIZE    bytes per stripe (K/M/G suffixes): a multiple of 64 KiB below 4 GiB; 0 default
  -i INDEX   the first OST (-1: let the metadata server choose)
  -o LIST    exactly these OSTs, e.g. 1,3-5
  -E END     end of a progressive layout component (-1 for EOF); the options
             after it describe that component
  -L mdt     the first component's data lives on the metadata server
             (Data-on-MDT), e.g. -E 64K -L mdt -E -1 -c 4
  -d         remove a directory's default layout
On a directory: sets the default its new files and subdirectories inherit.
On a path that does not exist: creates an empty file with that layout.)");
  sub->callback([sub, rc] {
    Request req;
    *rc = ParseArgs(kCmd, sub->remaining(), &req.layout, &req.remove, &req.paths);
    if (*rc != 0) return;
    for (const auto& p : req.paths) {
      int r = SetOne(p, req);
      if (r != 0) *rc = r;
    }
  });
}

}  // namespace amlfs::tools::setstripe
