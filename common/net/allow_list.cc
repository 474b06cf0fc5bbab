#include "common/net/allow_list.h"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstring>

#include "common/config.h"

namespace amlfs {

namespace asio = boost::asio;

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// IPv4-mapped IPv6 addresses as the IPv4 address they carry.
asio::ip::address Unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

Result<AllowList> AllowList::Parse(std::string_view text) {
  AllowList out;
  for (const std::string& raw : Split(std::string(text), ',')) {
    const std::string item = Trim(raw);
    if (item.empty()) continue;
    const size_t slash = item.find('/');
    boost::system::error_code ec;
    const asio::ip::address a = Unmapped(asio::ip::make_address(item.substr(0, slash), ec));
    if (ec) return Error(Code::kInvalid, "'" + item + "' is not an address or ADDRESS/PREFIX");
    Net n;
    n.v6 = a.is_v6();
    const unsigned bits = n.v6 ? 128 : 32;
    n.prefix = bits;
    if (slash != std::string::npos) {
      const std::string p = item.substr(slash + 1);
      if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(p) > bits)
        return Error(Code::kInvalid,
                     "'" + item + "': the prefix must be 0 to " + std::to_string(bits));
      n.prefix = static_cast<unsigned>(std::stoul(p));
    }
    if (n.v6) {
      auto b = a.to_v6().to_bytes();
      std::memcpy(n.bytes, b.data(), b.size());
    } else {
      auto b = a.to_v4().to_bytes();
      std::memcpy(n.bytes, b.data(), b.size());
    }
    out.nets_.push_back(n);
  }
  return out;
}

bool AllowList::Allows(const asio::ip::address& addr) const {
  if (nets_.empty()) return true;
  const asio::ip::address a = Unmapped(addr);
  unsigned char bytes[16] = {};
  if (a.is_v6()) {
    auto b = a.to_v6().to_bytes();
    std::memcpy(bytes, b.data(), b.size());
  } else {
    auto b = a.to_v4().to_bytes();
    std::memcpy(bytes, b.data(), b.size());
  }
  for (const Net& n : nets_) {
    if (n.v6 != a.is_v6()) continue;
    const unsigned whole = n.prefix / 8, rest = n.prefix % 8;
    if (std::memcmp(n.bytes, bytes, whole) != 0) continue;
    if (rest) {
      const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
      if ((n.bytes[whole] & mask) != (bytes[whole] & mask)) continue;
    }
    return true;
  }
  return false;
}

void AddAllowOption(CLI::App& app, std::string* text) {
  app.add_option("--allow", *text,
                 "Accept connections only from these addresses and networks, e.g. "
                 "'10.1.0.0/16, 127.0.0.1' (default: from anywhere)");
}

std::string AllowList::ToString() const {
  std::string out;
  for (const Net& n : nets_) {
    asio::ip::address a;
    if (n.v6) {
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), n.bytes, b.size());
      a = asio::ip::make_address_v6(b);
    } else {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), n.bytes, b.size());
      a = asio::ip::make_address_v4(b);
    }
    out += (out.empty() ? "" : ", ") + a.to_string() + "/" + std::to_string(n.prefix);
  }
  return out;
}

}  // namespace amlfs
