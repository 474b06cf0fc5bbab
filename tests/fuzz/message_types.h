// Every type with a binary encoding (common/codec.h): wire messages, the
// layout, the MDS's records on disk, the replicas' Raft messages. Shared by
// the message fuzz target, its seed maker and the protocol unit test, so
// that a new message added here is fuzzed, seeded and round-trip tested.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>

#include "common/codec.h"
#include "common/layout.h"
#include "common/protocol.h"
#include "common/protocol_lock.h"
#include "common/protocol_ost.h"
#include "common/protocol_replica.h"
#include "server/mds/raft/types.h"
#include "server/mds/records.h"

namespace amlfs::fuzz {

template <typename... Ts>
struct Types {
  static constexpr size_t kCount = sizeof...(Ts);
  // Calls f.template operator()<T>() for the i-th type T.
  template <typename F>
  static void At(size_t i, F&& f) {
    size_t k = 0;
    ((k++ == i ? f.template operator()<Ts>() : void()), ...);
  }
  template <typename F>
  static void Each(F&& f) {
    (f.template operator()<Ts>(), ...);
  }
};

// The list, as an X-macro: X(T) for each type T, in the order that gives
// each its selector byte in the message fuzz target. Seeds are named after
// the type (corpus/message/<name>), and `fuzz_make_seeds --check` proves
// that each one selects and decodes as the type it is named after, so a
// type inserted here fails the suite until the seeds are made again.
// clang-format off
#define AMLFS_FUZZ_MESSAGE_TYPES(X) \
  /* common/protocol_base.h, common/protocol_namespace.h */ \
  X(HelloRsp) X(HelloReq) X(StatsRsp) X(StatsReq) X(Caller) X(Attr) X(OstInfo) X(FsInfoRsp) \
  X(FsInfoReq) X(EntryRsp) X(AttrRsp) X(EmptyRsp) X(AuthReq) X(LookupReq) X(GetAttrReq) \
  X(SetAttrReq) X(MknodReq) X(MkdirReq) X(UnlinkReq) X(RmdirReq) X(RenameReq) X(LinkReq) \
  X(SymlinkReq) X(ReadlinkRsp) X(ReadlinkReq) X(OpenRsp) X(OpenReq) X(CreateReq) X(ReleaseReq) \
  X(DirEntry) X(ReadDirRsp) X(ReadDirReq) X(StatFsRsp) X(StatFsReq) X(SetXattrReq) \
  X(XattrValueRsp) X(GetXattrReq) X(XattrListRsp) X(ListXattrReq) X(RemoveXattrReq) X(AccessReq) \
  X(AppendRsp) X(AppendReq) X(UpdateSizeReq) X(GetLayoutRsp) X(GetLayoutReq) X(SetLayoutReq) \
  X(MigrateBeginRsp) X(MigrateBeginReq) X(MigrateCommitReq) X(Fid2PathRsp) X(Fid2PathReq) \
  X(OstRegisterRsp) X(OstRegisterReq) X(OstMapRsp) X(OstMapReq) \
  /* common/protocol_ost.h */ \
  X(ObjWriteReq) X(ObjReadRsp) X(ObjReadReq) X(ObjTruncateReq) X(ObjSyncReq) X(ObjDestroyReq) \
  X(Extent) X(ObjExtentsRsp) X(ObjExtentsReq) X(ObjFallocateReq) X(OstStatFsRsp) X(OstStatFsReq) \
  X(ObjEntry) X(ObjListRsp) X(ObjListReq) X(ObjVerifyRsp) X(ObjVerifyReq) \
  /* common/protocol_lock.h */ \
  X(LockSpec) X(LockRsp) X(GetLkReq) X(SetLkReq) X(LockCancelReq) X(LockReleaseReq) \
  X(LockRenewRsp) X(LockRenewReq) \
  /* common/protocol_replica.h, server/mds/raft/types.h */ \
  X(MdsMember) X(MdsStatusRsp) X(MdsStatusReq) X(MdsDigestRsp) X(MdsDigestReq) X(MdsMembersReq) \
  X(raft::Member) X(raft::Membership) X(raft::Entry) X(raft::Message) \
  /* common/layout.h, server/mds/records.h */ \
  X(LayoutComponent) X(Layout) X(ComponentTemplate) X(LayoutTemplate) X(mds::InodeRec) \
  X(mds::DentryRec) X(mds::QueueRec) X(mds::OstRec)
// clang-format on

template <typename First, typename... Ts>
struct DropFirst {
  using type = Types<Ts...>;
};
#define AMLFS_FUZZ_COMMA_TYPE(T) , T
#define AMLFS_FUZZ_NAME_COMMA(T) #T,
// A leading `void` takes the list's first comma.
using MessageTypes = DropFirst<void AMLFS_FUZZ_MESSAGE_TYPES(AMLFS_FUZZ_COMMA_TYPE)>::type;

// kMessageTypeNames[i] names MessageTypes' i-th type as it is spelled in
// the list ("HelloRsp", "raft::Entry", "mds::InodeRec").
inline constexpr const char* kMessageTypeNames[] = {
    AMLFS_FUZZ_MESSAGE_TYPES(AMLFS_FUZZ_NAME_COMMA)};
static_assert(std::size(kMessageTypeNames) == MessageTypes::kCount);

// The decoders that read a payload in place or strip a response status,
// selected by kCount + i (and by every byte above, i modulo 3).
inline constexpr const char* kInPlaceNames[] = {"in-place-write", "in-place-read", "response"};

// The seed file of the type named `name`: "::" becomes "." ("raft.Entry").
inline std::string SeedName(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const bool scope = name.compare(i, 2, "::") == 0;
    out += scope ? '.' : name[i];
    i += scope;
  }
  return out;
}

// Gives every field of a message a distinct non-default value (vectors get
// two elements).
struct Filler {
  uint64_t next = 1;
  template <typename... T>
  void operator()(T&... fields) {
    (Fill(fields), ...);
  }
  template <typename T>
  void Fill(T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      v = true;
    } else if constexpr (std::is_enum_v<T> || std::is_integral_v<T>) {
      v = static_cast<T>(next++);
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = "name-" + std::to_string(next++);
    } else if constexpr (StrongIdType<T>) {
      v = T(static_cast<typename T::ValueType>(next++));
    } else if constexpr (Visitable<T>) {
      v.Visit(*this);
    } else {
      v.resize(2);
      for (auto& e : v) Fill(e);
    }
  }
};

template <typename T>
T Filled() {
  T msg;
  Filler f;
  f.Fill(msg);
  return msg;
}

}  // namespace amlfs::fuzz
