// AllowList: the client networks a server accepts connections from
// (`allow = 10.1.0.0/16, 127.0.0.1`); a connection from anywhere else is
// closed at accept, before it can send a byte, and logged. Empty: every
// address is allowed. A value: immutable once parsed, so any number of
// threads may call its const methods at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace boost {
namespace asio {
namespace ip {
class address;
}
}  // namespace asio
}  // namespace boost
namespace CLI {
class App;
}

namespace amlfs {

class AllowList {
 public:
  // Comma-separated IPv4 or IPv6 addresses and networks (ADDRESS/PREFIX);
  // white space around items is ignored. kInvalid names the bad item.
  static Result<AllowList> Parse(std::string_view text);

  bool empty() const { return nets_.empty(); }
  // An IPv4 address mapped into IPv6 (::ffff:a.b.c.d) counts as IPv4.
  bool Allows(const boost::asio::ip::address& a) const;
  std::string ToString() const;

 private:
  struct Net {
    bool v6 = false;
    unsigned char bytes[16] = {};
    unsigned prefix = 0;  // bits that must match
  };
  std::vector<Net> nets_;
};

// Adds --allow (allow in a config file) to a server's `app`, into `*text`.
void AddAllowOption(CLI::App& app, std::string* text);

}  // namespace amlfs
