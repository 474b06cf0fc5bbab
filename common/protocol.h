// The amlfs wire protocol, all of it: every opcode (protocol_methods.h) and
// its request and response messages, by family. Numbers on the wire are
// never renumbered; see protocol_base.h for the conventions.
//
// A response payload is: u32 Code, string message, then (only when Code is
// kOk) the encoded Response. See EncodeResponse()/DecodeResponse().
#pragma once

#include <type_traits>

#include "common/protocol_base.h"       // opcodes, envelope, shared types
#include "common/protocol_lock.h"       // the lock messages
#include "common/protocol_namespace.h"  // the MDS's namespace messages
#include "common/protocol_ost.h"        // the object storage targets' messages
#include "common/protocol_replica.h"    // the MDS replicas' status and membership

namespace amlfs {

// Each request names the opcode and response type the method table gives it.
namespace detail {
template <typename Req, typename Rsp>
constexpr bool MatchesTable(Opcode op) {
  if constexpr (std::is_void_v<Req>) {
    return std::is_void_v<Rsp>;  // not a protocol message (kRaft)
  } else {
    return Req::kOp == op && std::is_same_v<typename Req::Response, Rsp>;
  }
}
}  // namespace detail
#define AMLFS_CHECK_METHOD(Name, number, label, Req, Rsp, flags) \
  static_assert(detail::MatchesTable<Req, Rsp>(Opcode::k##Name), \
                #Req " does not name Opcode::k" #Name " and response " #Rsp);
AMLFS_METHODS(AMLFS_CHECK_METHOD)
#undef AMLFS_CHECK_METHOD

}  // namespace amlfs
