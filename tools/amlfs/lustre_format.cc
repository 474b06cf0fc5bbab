#include "tools/amlfs/lustre_format.h"

#include <cstdarg>
#include <cstdio>
#include <sstream>

#include "tools/amlfs/session.h"

namespace amlfs::tools {

namespace {

std::string Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

bool Several(unsigned fields, unsigned self) { return (fields & ~self) != 0; }

// The l_fid Lustre shows for an OST object.
std::string ObjectFid(uint32_t ost, uint64_t ino, uint32_t comp) {
  return Printf("%#llx:0x%x:0x%x", 0x100000000ull | (static_cast<unsigned long long>(ost) << 16),
                static_cast<unsigned>(ino & 0xffffffffu), comp);
}

// The lmm_* lines of one component (files: one field per line).
void LmmBlock(std::ostringstream& os, const char* indent, uint64_t ino, const LayoutComponent& c,
              uint32_t generation, unsigned f, bool yaml, bool composite) {
  if (f & kFieldDetail) {
    os << indent << "lmm_magic:         0x0BD10BD0\n";
    os << indent << Printf("lmm_seq:           %#llx\n", 0x200000400ull + (ino >> 32));
    os << indent
       << Printf("lmm_object_id:     %#llx\n", static_cast<unsigned long long>(ino & 0xffffffffu));
    os << indent << "lmm_fid:           " << (yaml ? FidNoBrace(ino) : FidOf(ino)) << '\n';
  }
  auto field = [&](unsigned bit, const char* label, const std::string& value) {
    if (!(f & bit)) return;
    os << indent;
    if (Several(f, bit)) os << label;
    os << value << '\n';
  };
  // A Data-on-MDT component has no OST objects: Lustre prints count 0 and
  // offset 0 (the MDT's index), and no object list.
  const bool mdt = c.on_mdt();
  field(kFieldCount, "lmm_stripe_count:  ", std::to_string(mdt ? 0 : c.osts.size()));
  field(kFieldSize, "lmm_stripe_size:   ", std::to_string(c.stripe_size));
  field(kFieldPattern, "lmm_pattern:       ", mdt ? "mdt" : "raid0");
  field(kFieldGeneration, "lmm_layout_gen:    ", std::to_string(generation));
  field(kFieldOffset, "lmm_stripe_offset: ",
        std::to_string(mdt              ? 0
                       : c.osts.empty() ? -1
                                        : static_cast<int64_t>(c.osts[0].value())));
  if (!(f & kFieldObjects) || mdt) return;
  if (composite || yaml) {
    os << indent << "lmm_objects:\n";
    for (size_t s = 0; s < c.osts.size(); ++s) {
      uint32_t ost = c.osts[s].value();
      if (composite && !yaml) {
        os << indent << "- " << s << ": { l_ost_idx: " << ost << ", l_fid: ["
           << ObjectFid(ost, ino, c.id) << "] }\n";
      } else {
        os << indent << "      - l_ost_idx: " << ost << '\n';
        os << indent << "        l_fid:     " << ObjectFid(ost, ino, c.id) << '\n';
      }
    }
    return;
  }
  os << "\tobdidx\t\t objid\t\t objid\t\t group\n";
  for (uint32_t ost_idx : [&] {
         std::vector<uint32_t> v;
         for (auto o : c.osts) v.push_back(o.value());
         return v;
       }()) {
    const unsigned long long oid = ino, group = c.id;
    os << Printf("\t%6u\t%14llu\t%#13llx\t", ost_idx, oid, oid)
       << (group <= 11 ? Printf("%14llu", group) : Printf("%#14llx", group)) << '\n';
  }
}

std::string End(uint64_t end) { return end == kLayoutEof ? "EOF" : std::to_string(end); }

}  // namespace

std::string FormatFileStripe(const std::string& path, uint64_t ino, const Layout& l,
                             const StripeFormat& f) {
  std::ostringstream os;
  if (l.comps.empty()) {
    os << path << " has no stripe info\n";
    return os.str();
  }
  if (l.comps.size() == 1) {
    if (f.print_path && !f.yaml) os << path << '\n';
    LmmBlock(os, "", ino, l.comps[0], l.generation, f.fields, f.yaml, false);
    os << '\n';
    return os.str();
  }
  // A progressive layout: with a single field, the last component's value.
  if ((f.fields & kFieldsDefault) != kFieldsDefault && !(f.fields & kFieldObjects)) {
    LmmBlock(os, "", ino, l.comps.back(), 0, f.fields, f.yaml, false);
    os << '\n';
    return os.str();
  }
  if (f.print_path && !f.yaml) os << path << '\n';
  os << "  lcm_layout_gen:    " << l.generation << '\n';
  os << "  lcm_mirror_count:  1\n";
  os << "  lcm_entry_count:   " << l.comps.size() << '\n';
  for (size_t i = 0; i < l.comps.size(); ++i) {
    const auto& c = l.comps[i];
    if (f.yaml) os << "  component" << i << ":\n";
    os << "    lcme_id:             " << i + 1 << '\n';
    os << "    lcme_mirror_id:      0\n";
    os << "    lcme_flags:          init\n";
    os << "    lcme_extent.e_start: " << c.start << '\n';
    os << "    lcme_extent.e_end:   " << End(c.end) << '\n';
    if (f.yaml) os << "    sub_layout:\n";
    LmmBlock(os, "      ", ino, c, 0, f.fields, f.yaml, true);
    os << '\n';
  }
  return os.str();
}

std::string FormatDirStripe(const std::string& path, const GetLayoutRsp& d, const StripeFormat& f) {
  std::ostringstream os;
  const bool own = !d.own.IsDefault() || d.attr.ino == kRootInode;
  const LayoutTemplate& t = own && !d.own.IsDefault() ? d.own : d.effective;
  auto line = [&](const char* indent, const ComponentTemplate& c, bool has_own) {
    std::vector<std::string> parts;
    auto field = [&](unsigned bit, const char* label, const std::string& value) {
      if (!(f.fields & bit)) return;
      parts.push_back(std::string(indent) +
                      (Several(f.fields & ~(kFieldObjects | kFieldGeneration), bit) ? label : "") +
                      value);
    };
    const bool mdt = c.on_mdt();
    int64_t count = mdt ? 0 : c.stripe_count, size = static_cast<int64_t>(c.stripe_size);
    if (mdt) size = static_cast<int64_t>(c.end);
    if (!has_own && f.raw) count = size = 0;
    field(kFieldCount, "stripe_count:  ", std::to_string(count));
    field(kFieldSize, "stripe_size:   ", std::to_string(size));
    field(kFieldPattern, "pattern:       ", mdt ? "mdt" : has_own ? "raid0" : "0");
    field(kFieldOffset, "stripe_offset: ", std::to_string(c.stripe_offset));
    for (size_t i = 0; i < parts.size(); ++i) os << (i ? " " : "") << parts[i];
    os << "\n\n";
  };
  if (f.print_path) os << path << '\n';
  if (t.comps.size() <= 1) {
    ComponentTemplate c = t.comps.empty() ? ComponentTemplate{} : t.comps[0];
    line("", c, own);
    return os.str();
  }
  os << "  lcm_layout_gen:    0\n";
  os << "  lcm_mirror_count:  1\n";
  os << "  lcm_entry_count:   " << t.comps.size() << '\n';
  uint64_t start = 0;
  for (const auto& c : t.comps) {
    os << "    lcme_id:             N/A\n";
    os << "    lcme_mirror_id:      N/A\n";
    os << "    lcme_flags:          0\n";
    os << "    lcme_extent.e_start: " << start << '\n';
    os << "    lcme_extent.e_end:   " << End(c.end) << '\n';
    line("      ", c, true);
    start = c.end;
  }
  return os.str();
}

}  // namespace amlfs::tools
