#include "common/layout.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace amlfs {

std::vector<StripeExtent> MapExtent(const Layout& layout, uint64_t offset, uint64_t length) {
  std::vector<StripeExtent> out;
  uint64_t end = length > kLayoutEof - offset ? kLayoutEof : offset + length;
  uint64_t pos = offset;
  for (uint32_t ci = 0; ci < layout.comps.size() && pos < end; ++ci) {
    const LayoutComponent& c = layout.comps[ci];
    if (pos >= c.end || end <= c.start) continue;
    if (pos < c.start) pos = c.start;  // a gap between components: nothing maps there
    uint64_t comp_end = std::min(end, c.end);
    const uint64_t ss = c.stripe_size;
    const uint64_t count = c.osts.size();
    while (pos < comp_end) {
      uint64_t rel = pos - c.start;
      uint64_t unit = rel / ss;
      uint64_t within = rel % ss;
      uint64_t n = std::min(ss - within, comp_end - pos);
      StripeExtent e;
      e.comp = ci;
      e.stripe = static_cast<uint32_t>(unit % count);
      e.ost = c.osts[e.stripe];
      e.object_offset = (unit / count) * ss + within;
      e.length = n;
      e.file_offset = pos;
      out.push_back(e);
      pos += n;
    }
  }
  return out;
}

uint64_t ObjectSizeForFileSize(const Layout& layout, uint32_t comp, uint32_t stripe,
                               uint64_t file_size) {
  const LayoutComponent& c = layout.comps.at(comp);
  if (file_size <= c.start) return 0;
  uint64_t rel_size = std::min(file_size, c.end) - c.start;
  const uint64_t ss = c.stripe_size;
  const uint64_t count = c.osts.size();
  uint64_t full_rows = rel_size / (ss * count);
  uint64_t rest = rel_size % (ss * count);
  uint64_t size = full_rows * ss;
  uint64_t before = static_cast<uint64_t>(stripe) * ss;
  if (rest > before) size += std::min(ss, rest - before);
  return size;
}

uint64_t FileOffsetOf(const Layout& layout, uint32_t comp, uint32_t stripe,
                      uint64_t object_offset) {
  const LayoutComponent& c = layout.comps.at(comp);
  const uint64_t ss = c.stripe_size;
  const uint64_t count = c.osts.size();
  uint64_t row = object_offset / ss;
  uint64_t within = object_offset % ss;
  return c.start + (row * count + stripe) * ss + within;
}

Status ValidateStripeSize(uint64_t stripe_size) {
  if (stripe_size == 0 || stripe_size % kStripeSizeUnit != 0)
    return Error(Code::kInvalid,
                 "stripe size " + std::to_string(stripe_size) + " is not a multiple of 65536");
  if (stripe_size > kMaxStripeSize)
    return Error(Code::kInvalid,
                 "stripe size " + std::to_string(stripe_size) + " is not below 4 GiB");
  return Status::Ok();
}

Status ValidateLayout(const Layout& layout) {
  if (layout.comps.empty()) return Error(Code::kInvalid, "layout has no component");
  uint64_t expect = 0;
  for (const auto& c : layout.comps) {
    if (c.start != expect) return Error(Code::kInvalid, "layout components are not contiguous");
    if (c.end <= c.start) return Error(Code::kInvalid, "layout component is empty");
    AMLFS_RETURN_IF_ERROR(ValidateStripeSize(c.stripe_size));
    if (c.osts.empty() || c.osts.size() > kMaxStripeCount)
      return Error(Code::kInvalid, "bad stripe count " + std::to_string(c.osts.size()));
    const bool mdt = c.on_mdt();
    if (!mdt && std::find(c.osts.begin(), c.osts.end(), kMdtTarget) != c.osts.end())
      return Error(Code::kInvalid, "the MDT is a component's only target");
    if (mdt &&
        (c.start != 0 || c.end == kLayoutEof || c.end > kMaxDomSize || c.stripe_size < c.end))
      return Error(Code::kInvalid, "bad Data-on-MDT component");
    expect = c.end;
  }
  if (expect != kLayoutEof) return Error(Code::kInvalid, "last layout component must reach EOF");
  return Status::Ok();
}

namespace {

void FormatEnd(std::ostringstream& os, uint64_t end) {
  if (end == kLayoutEof)
    os << "EOF";
  else
    os << end;
}

void FormatOsts(std::ostringstream& os, const std::vector<OstIndex>& osts) {
  os << " osts=";
  for (size_t j = 0; j < osts.size(); ++j) os << (j ? "," : "") << osts[j].value();
}

}  // namespace

std::string FormatTemplate(const LayoutTemplate& t) {
  std::ostringstream os;
  uint64_t start = 0;
  for (size_t i = 0; i < t.comps.size(); ++i) {
    const auto& c = t.comps[i];
    if (i) os << ' ';
    if (t.composite()) {
      os << "comp_start=" << start << " comp_end=";
      FormatEnd(os, c.end);
      os << ' ';
    }
    if (c.on_mdt()) {
      os << "pattern=mdt";
    } else {
      os << "stripe_count=" << c.stripe_count << " stripe_size=" << c.stripe_size
         << " stripe_offset=" << c.stripe_offset;
      if (!c.osts.empty()) FormatOsts(os, c.osts);
    }
    start = c.end;
  }
  return os.str();
}

std::string FormatLayout(const Layout& l) {
  std::ostringstream os;
  for (size_t i = 0; i < l.comps.size(); ++i) {
    const auto& c = l.comps[i];
    if (i) os << ' ';
    if (l.comps.size() > 1) {
      os << "comp_start=" << c.start << " comp_end=";
      FormatEnd(os, c.end);
      os << ' ';
    }
    if (c.on_mdt()) {
      os << "pattern=mdt stripe_size=" << c.stripe_size;
      continue;
    }
    os << "stripe_count=" << c.osts.size() << " stripe_size=" << c.stripe_size
       << " stripe_offset=" << (c.osts.empty() ? -1 : static_cast<int64_t>(c.osts[0].value()));
    FormatOsts(os, c.osts);
  }
  return os.str();
}

LayoutTemplate TemplateOf(const Layout& l) {
  LayoutTemplate t;
  for (const auto& c : l.comps) {
    if (c.on_mdt()) {
      t.comps.push_back(ComponentTemplate::Mdt(c.end));
      continue;
    }
    ComponentTemplate ct;
    ct.end = c.end;
    ct.stripe_count = static_cast<int32_t>(c.osts.size());
    ct.stripe_size = c.stripe_size;
    ct.stripe_offset = c.osts.empty() ? -1 : static_cast<int32_t>(c.osts[0].value());
    ct.osts = c.osts;
    t.comps.push_back(std::move(ct));
  }
  return t;
}

Result<std::vector<OstIndex>> ParseOstList(const std::string& text) {
  std::vector<OstIndex> out;
  std::istringstream is(text);
  std::string item;
  auto bad = [&] { return Error(Code::kInvalid, "bad OST list '" + text + "'"); };
  while (std::getline(is, item, ',')) {
    if (item.empty()) return bad();
    auto dash = item.find('-');
    unsigned long lo = 0, hi = 0;
    size_t p1 = 0, p2 = 0;
    try {
      if (dash == std::string::npos) {
        lo = hi = std::stoul(item, &p1);
        p2 = 0;
        if (p1 != item.size()) return bad();
      } else {
        std::string a = item.substr(0, dash), b = item.substr(dash + 1);
        if (a.empty() || b.empty() || !std::isdigit(static_cast<unsigned char>(a[0])) ||
            !std::isdigit(static_cast<unsigned char>(b[0])))
          return bad();
        lo = std::stoul(a, &p1);
        hi = std::stoul(b, &p2);
        if (p1 != a.size() || p2 != b.size()) return bad();
      }
    } catch (...) {
      return bad();
    }
    if (!std::isdigit(static_cast<unsigned char>(item[0])) || lo > hi || hi > 65535) return bad();
    for (unsigned long i = lo; i <= hi; ++i) {
      OstIndex o(static_cast<uint32_t>(i));
      if (std::find(out.begin(), out.end(), o) != out.end())
        return Error(Code::kInvalid,
                     "OST " + std::to_string(i) + " listed twice in '" + text + "'");
      out.push_back(o);
      if (out.size() > kMaxStripeCount) return bad();
    }
  }
  if (out.empty()) return bad();
  return out;
}

Status ValidateTemplate(LayoutTemplate& t) {
  if (t.comps.size() == 1 && t.comps[0].IsDefault() && t.comps[0].end == kLayoutEof) {
    t.comps.clear();
    return Status::Ok();
  }
  uint64_t prev = 0;
  for (size_t i = 0; i < t.comps.size(); ++i) {
    auto& c = t.comps[i];
    if (c.on_mdt()) {
      if (i != 0) return Error(Code::kInvalid, "only the first component can be on the MDT");
      if (i + 1 == t.comps.size() || c.end == kLayoutEof)
        return Error(Code::kInvalid,
                     "a Data-on-MDT component needs an end (-E) and a component after it");
      if (c.end % kStripeSizeUnit != 0 || c.end > kMaxDomSize)
        return Error(Code::kInvalid, "Data-on-MDT component end " + std::to_string(c.end) +
                                         " is not a multiple of 64 KiB up to 1 GiB");
      c = ComponentTemplate::Mdt(c.end);
      prev = c.end;
      continue;
    }
    if (std::find(c.osts.begin(), c.osts.end(), kMdtTarget) != c.osts.end())
      return Error(Code::kInvalid, "the MDT is a component's only target");
    if (c.stripe_count < -1 || c.stripe_count > static_cast<int32_t>(kMaxStripeCount))
      return Error(Code::kInvalid, "bad stripe count " + std::to_string(c.stripe_count));
    if (c.stripe_size != 0) AMLFS_RETURN_IF_ERROR(ValidateStripeSize(c.stripe_size));
    if (c.stripe_offset < -1 || c.stripe_offset > 65535)
      return Error(Code::kInvalid, "bad stripe offset " + std::to_string(c.stripe_offset));
    if (!c.osts.empty()) {
      if (c.stripe_count > 0 && static_cast<size_t>(c.stripe_count) != c.osts.size())
        return Error(Code::kInvalid, "stripe count " + std::to_string(c.stripe_count) +
                                         " does not match the " + std::to_string(c.osts.size()) +
                                         " OSTs listed");
      c.stripe_count = static_cast<int32_t>(c.osts.size());
    }
    if (c.end <= prev)
      return Error(Code::kInvalid, "component end " + std::to_string(c.end) +
                                       " is not above the previous end " + std::to_string(prev));
    if (c.end != kLayoutEof) {
      if (c.end % kStripeSizeUnit != 0)
        return Error(Code::kInvalid,
                     "component end " + std::to_string(c.end) + " is not a multiple of 64 KiB");
      if (c.stripe_size != 0 && c.end % c.stripe_size != 0)
        return Error(Code::kInvalid, "component end " + std::to_string(c.end) +
                                         " is not a multiple of its stripe size " +
                                         std::to_string(c.stripe_size));
      if (i + 1 == t.comps.size())
        return Error(Code::kInvalid, "the last component must extend to EOF (-E -1)");
    }
    prev = c.end;
  }
  return Status::Ok();
}

Result<uint64_t> ParseSize(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    return Error(Code::kInvalid, "bad size '" + text + "'");
  size_t pos = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &pos, 10);
  } catch (...) {
    return Error(Code::kInvalid, "bad size '" + text + "'");
  }
  std::string suffix = text.substr(pos);
  uint64_t mult = 1;
  if (suffix.empty() || suffix == "B" || suffix == "b")
    mult = 1;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB")
    mult = 1ull << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB")
    mult = 1ull << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB")
    mult = 1ull << 30;
  else if (suffix == "T" || suffix == "t" || suffix == "TiB")
    mult = 1ull << 40;
  else
    return Error(Code::kInvalid, "bad size suffix in '" + text + "'");
  if (v > ~uint64_t{0} / mult) return Error(Code::kInvalid, "size '" + text + "' too large");
  return static_cast<uint64_t>(v * mult);
}

bool ParseIntIn(const std::string& text, long lo, long hi, long* out) {
  try {
    size_t p = 0;
    long n = std::stol(text, &p);
    if (p != text.size() || n < lo || n > hi) return false;
    *out = n;
    return true;
  } catch (...) {
    return false;
  }
}

Result<LayoutTemplate> ParseTemplate(const std::string& text) {
  // Tokens are key=value, separated by spaces or ';'. A comma also separates
  // tokens, except inside an OST list ("osts=0,2-3").
  std::vector<std::string> tokens;
  {
    std::string norm = text;
    std::replace(norm.begin(), norm.end(), ';', ' ');
    std::istringstream is(norm);
    std::string word;
    while (is >> word) {
      std::istringstream ws(word);
      std::string piece;
      while (std::getline(ws, piece, ',')) {
        if (piece.find('=') == std::string::npos && !tokens.empty())
          tokens.back() += "," + piece;
        else if (!piece.empty())
          tokens.push_back(piece);
      }
    }
  }
  LayoutTemplate t;
  ComponentTemplate cur;
  bool cur_any = false, cur_has_end = false;
  auto next_comp = [&] {
    t.comps.push_back(cur);
    cur = ComponentTemplate{};
    cur_any = cur_has_end = false;
  };
  for (const std::string& tok : tokens) {
    auto eq = tok.find('=');
    if (eq == std::string::npos)
      return Error(Code::kInvalid, "expected key=value, got '" + tok + "'");
    std::string key = tok.substr(0, eq), val = tok.substr(eq + 1);
    long n = 0;
    if (key == "comp_start") {
      // Each component starts where the one before it ends.
      const uint64_t expected = cur_any ? cur.end : t.comps.empty() ? 0 : t.comps.back().end;
      auto start = ParseSize(val);
      if (!start.ok() || (cur_any && !cur_has_end) || start.value() != expected)
        return Error(Code::kInvalid, "bad comp_start '" + val + "': components start where " +
                                         "the one before ends (0 for the first)");
      if (cur_any) next_comp();
    } else if (key == "comp_end") {
      if (cur_has_end) next_comp();
      if (val == "EOF" || val == "eof" || val == "-1") {
        cur.end = kLayoutEof;
      } else {
        AMLFS_ASSIGN_OR_RETURN(cur.end, ParseSize(val));
      }
      cur_has_end = true;
    } else if (key == "stripe_count" || key == "count" || key == "c") {
      if (!ParseIntIn(val, -1, kMaxStripeCount, &n))
        return Error(Code::kInvalid, "bad stripe_count '" + val + "'");
      cur.stripe_count = static_cast<int32_t>(n);
    } else if (key == "stripe_size" || key == "size" || key == "S") {
      AMLFS_ASSIGN_OR_RETURN(uint64_t s, ParseSize(val));
      if (s != 0) AMLFS_RETURN_IF_ERROR(ValidateStripeSize(s));
      cur.stripe_size = s;
    } else if (key == "stripe_offset" || key == "offset" || key == "i") {
      if (!ParseIntIn(val, -1, 65535, &n))
        return Error(Code::kInvalid, "bad stripe_offset '" + val + "'");
      cur.stripe_offset = static_cast<int32_t>(n);
    } else if (key == "osts" || key == "o") {
      AMLFS_ASSIGN_OR_RETURN(cur.osts, ParseOstList(val));
    } else if (key == "pattern" || key == "layout" || key == "L") {
      if (val == "mdt")
        cur.osts = {kMdtTarget};
      else if (val != "raid0")
        return Error(Code::kInvalid, "bad pattern '" + val + "': raid0 or mdt");
    } else {
      return Error(Code::kInvalid, "unknown layout key '" + key + "'");
    }
    cur_any = true;
  }
  if (!cur_any && t.comps.empty()) return Error(Code::kInvalid, "empty layout");
  if (cur_any) t.comps.push_back(cur);
  // A file layout names its OSTs and repeats their count; the count and the
  // first OST follow from the list.
  for (auto& c : t.comps)
    if (!c.osts.empty() && !c.on_mdt()) {
      c.stripe_count = static_cast<int32_t>(c.osts.size());
      c.stripe_offset = static_cast<int32_t>(c.osts[0].value());
    }
  AMLFS_RETURN_IF_ERROR(ValidateTemplate(t));
  return t;
}

std::map<OstIndex, std::vector<ObjectId>> ObjectsByOst(InodeId ino, const Layout& l) {
  std::map<OstIndex, std::vector<ObjectId>> out;
  for (uint32_t c = 0; c < l.comps.size(); ++c)
    for (uint32_t s = 0; s < l.comps[c].osts.size(); ++s)
      out[l.comps[c].osts[s]].push_back(ObjectOf(ino, l, c, s));
  return out;
}

}  // namespace amlfs
