// Root squash, as managed Lustre offers it: before the MDS looks at a
// request, the identity the client states for its caller is replaced, so a
// squashed caller gets exactly what the squash uid would get. Mode kRoot
// squashes uid 0 only; kAll squashes every caller (all_squash). Callers on
// the exempt (trusted) client networks keep their identity.
//
// The trust model: a client that holds the cluster key is trusted to state
// the uid, gid and groups of the process behind each request (as NFS trusts
// a client host with AUTH_SYS); squashing limits what a client's root, or
// everyone on an untrusted network, may claim. The MDS itself checks every
// permission against the identity it ends up with.
#pragma once

#include <cstdint>
#include <string>

#include "common/net/allow_list.h"
#include "common/protocol.h"

namespace amlfs::mds {

struct SquashPolicy {
  enum class Mode { kNone, kRoot, kAll };
  Mode mode = Mode::kNone;
  uint32_t uid = 0, gid = 0;
  AllowList exempt;

  // `ids`: "UID:GID" (empty: no squashing); `mode`: "root" or "all";
  // `exempt`: networks as for AllowList. kInvalid names what is wrong.
  static Result<SquashPolicy> Parse(const std::string& ids, const std::string& mode,
                                    const std::string& exempt);
  // Squashes `c`, a caller of a request from `peer` ("ADDRESS:PORT").
  void Apply(Caller* c, const std::string& peer) const;
  std::string ToString() const;
};

}  // namespace amlfs::mds
