#include "server/mds/squash.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace amlfs::mds {

namespace {

bool ParseId(const std::string& s, uint32_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<SquashPolicy> SquashPolicy::Parse(const std::string& ids, const std::string& mode,
                                         const std::string& exempt) {
  SquashPolicy p;
  if (mode != "root" && mode != "all")
    return Error(Code::kInvalid, "squash_mode: '" + mode + "' is not root or all");
  auto nets = AllowList::Parse(exempt);
  if (!nets.ok()) return Error(Code::kInvalid, "nosquash_nets: " + nets.status().message());
  p.exempt = *nets;
  if (ids.empty()) return p;  // no squashing
  const size_t colon = ids.find(':');
  if (colon == std::string::npos || !ParseId(ids.substr(0, colon), &p.uid) ||
      !ParseId(ids.substr(colon + 1), &p.gid))
    return Error(Code::kInvalid, "root_squash: '" + ids + "' is not UID:GID");
  p.mode = mode == "all" ? Mode::kAll : Mode::kRoot;
  return p;
}

void SquashPolicy::Apply(Caller* c, const std::string& peer) const {
  if (mode == Mode::kNone || (mode == Mode::kRoot && c->uid != 0)) return;
  if (!exempt.empty()) {
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(peer.substr(0, peer.rfind(':')), ec);
    if (!ec && exempt.Allows(a)) return;
  }
  c->uid = uid;
  c->gid = gid;
  c->groups.clear();
}

std::string SquashPolicy::ToString() const {
  if (mode == Mode::kNone) return "none";
  return std::string(mode == Mode::kAll ? "all callers" : "root") + " as " + std::to_string(uid) +
         ":" + std::to_string(gid) + (exempt.empty() ? "" : ", except from " + exempt.ToString());
}

}  // namespace amlfs::mds
