// lfs getstripe [-c|-S|-i|-g|-d|-D|-v|-y|-r|-q|-R] PATH...
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "tools/amlfs/commands.h"
#include "tools/amlfs/lustre_format.h"
#include "tools/amlfs/session.h"

namespace amlfs::tools::getstripe {

namespace {

constexpr uint32_t kIfMt = 0170000, kIfDir = 0040000, kIfReg = 0100000;

struct Options {
  std::vector<std::string> paths;
  bool count = false, size = false, offset = false, generation = false, pattern = false;
  bool directory = false, verbose = false, yaml = false, recursive = false, quiet = false,
       raw = false;
};

class Getstripe {
 public:
  Getstripe(const Options& o, Session& s) : o_(o), s_(s) {
    unsigned fields = 0;
    if (o.count) fields |= kFieldCount;
    if (o.size) fields |= kFieldSize;
    if (o.offset) fields |= kFieldOffset;
    if (o.generation) fields |= kFieldGeneration;
    if (o.pattern) fields |= kFieldPattern;
    single_ = fields != 0;
    if (o.quiet) fields |= kFieldObjects;
    if (fields == 0) fields = kFieldsDefault;
    if (o.verbose) fields |= kFieldDetail;
    fmt_.fields = fields;
    fmt_.yaml = o.yaml;
    fmt_.raw = o.raw;
    fmt_.print_path = !single_;
  }

  // Prints `path` (inode `ino`, type `mode`); returns false on an error.
  bool Print(const std::string& path, uint64_t ino, uint32_t mode, bool top) {
    auto rsp = s_.Call(GetLayoutReq{{}, InodeId(ino)});
    if (!rsp.ok()) {
      Fail("getstripe", "cannot get the layout of '" + path + "': " + rsp.status().message());
      return false;
    }
    if ((mode & kIfMt) == kIfReg) {
      std::cout << FormatFileStripe(path, ino, rsp->layout, fmt_);
      return true;
    }
    if ((mode & kIfMt) != kIfDir) {
      std::cout << path << " has no stripe info\n";
      return true;
    }
    StripeFormat df = fmt_;
    df.print_path = fmt_.print_path && !o_.directory;
    std::cout << FormatDirStripe(path, *rsp, df);
    if (o_.directory || single_) return true;
    if (!top && !o_.recursive) return true;
    return List(path, ino);
  }

 private:
  // The entries of directory `ino`, layouts in bulk, in name order.
  bool List(const std::string& path, uint64_t ino) {
    std::string prefix = path.empty() || path.back() == '/' ? path : path + "/";
    ReadDirReq r;
    r.ino = InodeId(ino);
    r.max_entries = 1024;
    r.layouts = true;
    bool ok = true;
    for (;;) {
      auto page = s_.Call(r);
      if (!page.ok()) {
        Fail("getstripe", "cannot read directory '" + path + "': " + page.status().message());
        return false;
      }
      for (const auto& e : page->entries) {
        std::string child = prefix + e.name;
        if ((e.mode & kIfMt) == kIfReg) {
          std::cout << FormatFileStripe(child, e.ino.value(), e.layout, fmt_);
        } else if ((e.mode & kIfMt) == kIfDir) {
          ok = Print(child, e.ino.value(), e.mode, false) && ok;
        } else {
          std::cout << child << " has no stripe info\n";
        }
      }
      if (page->eof || page->entries.empty()) break;
      r.after = page->entries.back().name;
    }
    return ok;
  }

  const Options& o_;
  Session& s_;
  StripeFormat fmt_;
  bool single_ = false;
};

int Run(const Options& o) {
  int rc = 0;
  for (const auto& p : o.paths) {
    auto t = OpenTarget("getstripe", p);
    if (!t) {
      rc = 2;
      continue;
    }
    Getstripe g(o, *t->session);
    if (!g.Print(p, t->st.st_ino, t->st.st_mode, true)) rc = 1;
  }
  std::cout.flush();
  return rc;
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("getstripe", "Show the layout of files and directory defaults");
  sub->add_flag("-c,--stripe-count", o->count, "Print only the stripe count");
  sub->add_flag("-S,--stripe-size", o->size, "Print only the stripe size");
  sub->add_flag("-i,--stripe-index,--stripe-offset", o->offset, "Print only the first OST index");
  sub->add_flag("-g,--generation", o->generation, "Print only the layout generation");
  sub->add_flag("-L,--layout", o->pattern, "Print only the layout pattern");
  sub->add_flag("-d,--directory,-D,--default", o->directory,
                "For a directory, print its default layout, not its entries");
  sub->add_flag("-v,--verbose", o->verbose, "Also print the magic, sequence, object id and FID");
  sub->add_flag("-y,--yaml", o->yaml, "YAML output");
  sub->add_flag("-r,--recursive", o->recursive, "Descend into subdirectories");
  sub->add_flag("-q,--quiet", o->quiet, "Print only the OST object table");
  sub->add_flag("-R,--raw", o->raw, "Do not fill in defaults for a directory without one");
  sub->add_option("path", o->paths, "Files or directories")->required();
  sub->callback([o, rc] { *rc = Run(*o); });
}

}  // namespace amlfs::tools::getstripe
