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
    return Error(Code::kInvalid, "stripe size " + std::to_string(stripe_size) +
                                     " is not a multiple of 65536");
  if (stripe_size > kMaxStripeSize)
    return Error(Code::kInvalid, "stripe size " + std::to_string(stripe_size) +
                                     " is not below 4 GiB");
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
    expect = c.end;
  }
  if (expect != kLayoutEof) return Error(Code::kInvalid, "last layout component must reach EOF");
  return Status::Ok();
}

std::string FormatTemplate(const LayoutTemplate& t) {
  std::ostringstream os;
  os << "stripe_count=" << t.stripe_count << " stripe_size=" << t.stripe_size
     << " stripe_offset=" << t.stripe_offset;
  return os.str();
}

std::string FormatLayout(const Layout& l) {
  std::ostringstream os;
  for (size_t i = 0; i < l.comps.size(); ++i) {
    const auto& c = l.comps[i];
    if (i) os << ' ';
    if (l.comps.size() > 1) {
      os << "comp_start=" << c.start << " comp_end=";
      if (c.end == kLayoutEof) os << "EOF"; else os << c.end;
      os << ' ';
    }
    os << "stripe_count=" << c.osts.size() << " stripe_size=" << c.stripe_size
       << " stripe_offset=" << (c.osts.empty() ? -1 : static_cast<int64_t>(c.osts[0].value()))
       << " osts=";
    for (size_t j = 0; j < c.osts.size(); ++j) os << (j ? "," : "") << c.osts[j].value();
  }
  return os.str();
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
  if (suffix.empty() || suffix == "B" || suffix == "b") mult = 1;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") mult = 1ull << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") mult = 1ull << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") mult = 1ull << 30;
  else if (suffix == "T" || suffix == "t" || suffix == "TiB") mult = 1ull << 40;
  else return Error(Code::kInvalid, "bad size suffix in '" + text + "'");
  if (v > ~uint64_t{0} / mult) return Error(Code::kInvalid, "size '" + text + "' too large");
  return static_cast<uint64_t>(v * mult);
}

Result<LayoutTemplate> ParseTemplate(const std::string& text) {
  LayoutTemplate t;
  std::string norm = text;
  std::replace(norm.begin(), norm.end(), ',', ' ');
  std::istringstream is(norm);
  std::string tok;
  bool any = false;
  while (is >> tok) {
    auto eq = tok.find('=');
    if (eq == std::string::npos) return Error(Code::kInvalid, "expected key=value, got '" + tok + "'");
    std::string key = tok.substr(0, eq), val = tok.substr(eq + 1);
    try {
      if (key == "stripe_count" || key == "count" || key == "c") {
        size_t p = 0;
        long n = std::stol(val, &p);
        if (p != val.size() || n < -1 || n > static_cast<long>(kMaxStripeCount))
          return Error(Code::kInvalid, "bad stripe_count '" + val + "'");
        t.stripe_count = static_cast<int32_t>(n);
      } else if (key == "stripe_size" || key == "size" || key == "S") {
        AMLFS_ASSIGN_OR_RETURN(uint64_t s, ParseSize(val));
        if (s != 0) AMLFS_RETURN_IF_ERROR(ValidateStripeSize(s));
        t.stripe_size = s;
      } else if (key == "stripe_offset" || key == "offset" || key == "i") {
        size_t p = 0;
        long n = std::stol(val, &p);
        if (p != val.size() || n < -1 || n > 65535)
          return Error(Code::kInvalid, "bad stripe_offset '" + val + "'");
        t.stripe_offset = static_cast<int32_t>(n);
      } else {
        return Error(Code::kInvalid, "unknown layout key '" + key + "'");
      }
    } catch (...) {
      return Error(Code::kInvalid, "bad value for " + key + ": '" + val + "'");
    }
    any = true;
  }
  if (!any) return Error(Code::kInvalid, "empty layout");
  return t;
}

}  // namespace amlfs
