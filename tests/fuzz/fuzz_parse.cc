// Fuzz target: the text a user or an admin types. The first input byte
// picks the parser: the layout xattr text (lustre.lov, user.amlfs.layout,
// as `setfattr` and `lfs setstripe` hand it over), sizes ("4M"), OST lists
// ("1,3-5"), bounded integers, HOST:PORT, allow lists, cluster keys and
// root-squash settings. What parses must print as something that parses
// to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/config.h"
#include "common/layout.h"
#include "common/net/allow_list.h"
#include "common/net/auth.h"
#include "server/mds/squash.h"
#include "tests/fuzz/parse_targets.h"

namespace amlfs {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void Layouts(const std::string& text) {
  auto t = ParseTemplate(text);
  if (!t.ok()) return;
  LayoutTemplate tmpl = t.value();
  if (!ValidateTemplate(tmpl).ok()) return;
  if (tmpl.comps.empty()) return;  // all defaults: "no template", which prints as ""
  // A valid template prints as text that parses back to itself.
  const std::string printed = FormatTemplate(tmpl);
  auto again = ParseTemplate(printed);
  Check(again.ok());
  LayoutTemplate back = again.value();
  Check(ValidateTemplate(back).ok());
  Check(FormatTemplate(back) == printed);
}

void Sizes(const std::string& text) {
  auto n = ParseSize(text);
  if (n.ok()) Check(ParseSize(std::to_string(n.value())).value() == n.value());
}

void OstLists(const std::string& text) {
  auto l = ParseOstList(text);
  if (!l.ok()) return;
  std::string printed;
  for (auto o : l.value()) {
    if (!printed.empty()) printed += ',';
    printed += std::to_string(o.value());
  }
  Check(ParseOstList(printed).value() == l.value());
}

void Integers(const std::string& text) {
  long v = 0;
  if (ParseIntIn(text, -1, 65535, &v)) Check(v >= -1 && v <= 65535);
}

void HostPorts(const std::string& text) {
  auto hp = ParseHostPort(text, true);
  if (hp.ok()) Check(ParseHostPort(hp.value().ToString(), true).ok());
}

void AllowLists(const std::string& text) {
  auto a = AllowList::Parse(text);
  if (!a.ok()) return;
  auto again = AllowList::Parse(a.value().ToString());
  Check(again.ok() && again.value().ToString() == a.value().ToString());
}

void Keys(const std::string& text) {
  auto k = ClusterKey::Parse(text);
  if (k.ok()) Check(ClusterKey::Parse(k.value().Hex()).ok());
}

void Squash(const std::string& text) {
  // Three fields, split at the first two newlines.
  auto a = text.find('\n');
  auto b = a == std::string::npos ? a : text.find('\n', a + 1);
  std::string ids = text.substr(0, a);
  std::string mode = a == std::string::npos ? "" : text.substr(a + 1, b - a - 1);
  std::string nets = b == std::string::npos ? "" : text.substr(b + 1);
  auto p = mds::SquashPolicy::Parse(ids, mode, nets);
  if (p.ok()) (void)p.value().ToString();
}

// In the order of fuzz::kParserNames.
constexpr void (*kParsers[])(const std::string&) = {Layouts,   Sizes,      OstLists, Integers,
                                                    HostPorts, AllowLists, Keys,     Squash};
static_assert(std::size(kParsers) == fuzz::kParserCount);

}  // namespace
}  // namespace amlfs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace amlfs;
  if (size == 0 || size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  kParsers[data[0] % fuzz::kParserCount](text);
  return 0;
}
