// Every type with a binary encoding (common/codec.h): wire messages, the
// layout, the MDS's records on disk, the replicas' Raft messages. Shared by
// the message fuzz target, its seed maker and the protocol unit test, so
// that a new message added here is fuzzed, seeded and round-trip tested.
#pragma once

#include <cstdint>
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

using MessageTypes = Types<
    // common/protocol.h
    HelloRsp, HelloReq, StatsRsp, StatsReq, Caller, Attr, OstInfo, FsInfoRsp, FsInfoReq, EntryRsp, AttrRsp, EmptyRsp,
    AuthReq, LookupReq, GetAttrReq, SetAttrReq, MknodReq, MkdirReq, UnlinkReq, RmdirReq,
    RenameReq, LinkReq, SymlinkReq, ReadlinkRsp, ReadlinkReq, OpenRsp, OpenReq, CreateReq,
    ReleaseReq, DirEntry, ReadDirRsp, ReadDirReq, StatFsRsp, StatFsReq, SetXattrReq,
    XattrValueRsp, GetXattrReq, XattrListRsp, ListXattrReq, RemoveXattrReq, AccessReq, AppendRsp,
    AppendReq, UpdateSizeReq, GetLayoutRsp, GetLayoutReq, SetLayoutReq, MigrateBeginRsp,
    MigrateBeginReq, MigrateCommitReq, Fid2PathRsp, Fid2PathReq, OstRegisterRsp, OstRegisterReq,
    OstMapRsp, OstMapReq,
    // common/protocol_ost.h
    ObjWriteReq, ObjReadRsp, ObjReadReq, ObjTruncateReq, ObjSyncReq, ObjDestroyReq, Extent,
    ObjExtentsRsp, ObjExtentsReq, ObjFallocateReq, OstStatFsRsp, OstStatFsReq, ObjEntry,
    ObjListRsp, ObjListReq, ObjVerifyRsp, ObjVerifyReq,
    // common/protocol_lock.h
    LockSpec, LockRsp, GetLkReq, SetLkReq, LockCancelReq, LockReleaseReq, LockRenewRsp,
    LockRenewReq,
    // common/protocol_replica.h, server/mds/raft/types.h
    MdsMember, MdsStatusRsp, MdsStatusReq, MdsDigestRsp, MdsDigestReq, MdsMembersReq,
    raft::Member, raft::Membership, raft::Entry, raft::Message,
    // common/layout.h, server/mds/records.h
    LayoutComponent, Layout, ComponentTemplate, LayoutTemplate, mds::InodeRec, mds::DentryRec,
    mds::QueueRec, mds::OstRec>;

// Gives every field of a message a distinct non-default value (vectors get
// two elements).
struct Filler {
  uint64_t next = 1;
  template <typename... T>
  void operator()(T&... fields) { (Fill(fields), ...); }
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
