// The method table of the amlfs wire protocol: every opcode, once.
//
//   X(Name, number, "name", Request, Response, flags)
//
// Name gives Opcode::kName (protocol_base.h), number its value on the wire
// (never renumbered, never reused: a retired one stays here as a comment),
// "name" its label in logs and metrics (OpcodeName), Request and Response
// its message types (void: not a protocol message, see the row) and flags
// what its callers and servers need to know (MethodFlag). The lists say
// which server answers each: every server, the MDS, or the OSTs.
//
// Derived from the table: the Opcode enum, OpcodeName(), the flags
// (MethodFlagsOf, IsMutation, RunsInline), the checks that each Request
// names its opcode and Response (protocol.h), the MDS's dispatch
// (server/mds/service.cc) and the OST's (server/ost/ost_service.cc).
#pragma once

#include <cstdint>

namespace amlfs {

enum MethodFlag : uint32_t {
  // Changes the namespace: the client gives it a sequence number, and the
  // MDS answers a retry with the reply it recorded (Caller).
  kMutation = 1u << 0,
  // The MDS runs it on the connection's network thread: it neither blocks
  // nor waits on an OST (a waiting SetLk is answered later, not waited for).
  kInline = 1u << 1,
  // The MDS runs it on the network thread unless it fsyncs its database on
  // every change itself (--sync-writes, not replicated): the mutation
  // then only writes a LevelDB batch, or hands it to the Raft log.
  kInlineUnlessSynced = 1u << 2,
  // Answered by every MDS replica, leading or not (no leadership gate).
  kAnyReplica = 1u << 3,
};

// Answered by every server (the RPC layer itself, common/net/rpc_server.h).
#define AMLFS_COMMON_METHODS(X)                                   \
  X(Hello, 1, "hello", HelloReq, HelloRsp, 0)                     \
  /* the client's proof of the cluster key (common/net/auth.h) */ \
  X(Auth, 2, "auth", AuthReq, EmptyRsp, 0)                        \
  /* the server's metrics (common/metrics.h) */                   \
  X(Stats, 3, "stats", StatsReq, StatsRsp, 0)

// Answered by the metadata server.
#define AMLFS_MDS_METHODS(X)                                                                   \
  /* the namespace (protocol_namespace.h) */                                                   \
  X(FsInfo, 10, "fsinfo", FsInfoReq, FsInfoRsp, kInline)                                       \
  X(Lookup, 11, "lookup", LookupReq, EntryRsp, kInline)                                        \
  X(GetAttr, 12, "getattr", GetAttrReq, AttrRsp, kInline)                                      \
  X(SetAttr, 13, "setattr", SetAttrReq, AttrRsp, kMutation)                                    \
  X(Mknod, 14, "mknod", MknodReq, EntryRsp, kMutation | kInlineUnlessSynced)                   \
  X(Mkdir, 15, "mkdir", MkdirReq, EntryRsp, kMutation | kInlineUnlessSynced)                   \
  X(Unlink, 16, "unlink", UnlinkReq, EmptyRsp, kMutation | kInlineUnlessSynced)                \
  X(Rmdir, 17, "rmdir", RmdirReq, EmptyRsp, kMutation | kInlineUnlessSynced)                   \
  X(Rename, 18, "rename", RenameReq, EmptyRsp, kMutation | kInlineUnlessSynced)                \
  X(Link, 19, "link", LinkReq, EntryRsp, kMutation | kInlineUnlessSynced)                      \
  X(Symlink, 20, "symlink", SymlinkReq, EntryRsp, kMutation | kInlineUnlessSynced)             \
  X(Readlink, 21, "readlink", ReadlinkReq, ReadlinkRsp, kInline)                               \
  X(Open, 22, "open", OpenReq, OpenRsp, kMutation)                                             \
  X(Create, 23, "create", CreateReq, OpenRsp, kMutation | kInlineUnlessSynced)                 \
  X(Release, 24, "release", ReleaseReq, EmptyRsp, kMutation | kInlineUnlessSynced)             \
  X(ReadDir, 25, "readdir", ReadDirReq, ReadDirRsp, 0)                                         \
  X(StatFs, 26, "statfs", StatFsReq, StatFsRsp, kInline)                                       \
  X(SetXattr, 27, "setxattr", SetXattrReq, EmptyRsp, kMutation | kInlineUnlessSynced)          \
  X(GetXattr, 28, "getxattr", GetXattrReq, XattrValueRsp, kInline)                             \
  X(ListXattr, 29, "listxattr", ListXattrReq, XattrListRsp, kInline)                           \
  X(RemoveXattr, 30, "removexattr", RemoveXattrReq, EmptyRsp, kMutation | kInlineUnlessSynced) \
  X(Access, 31, "access", AccessReq, EmptyRsp, kInline)                                        \
  X(UpdateSize, 32, "update_size", UpdateSizeReq, AttrRsp, kMutation | kInlineUnlessSynced)    \
  X(GetLayout, 33, "get_layout", GetLayoutReq, GetLayoutRsp, kInline)                          \
  X(SetLayout, 34, "set_layout", SetLayoutReq, AttrRsp, kMutation)                             \
  X(MigrateBegin, 35, "migrate_begin", MigrateBeginReq, MigrateBeginRsp, kMutation)            \
  X(MigrateCommit, 36, "migrate_commit", MigrateCommitReq, AttrRsp, kMutation)                 \
  X(Fid2Path, 37, "fid2path", Fid2PathReq, Fid2PathRsp, 0)                                     \
  /* locks (protocol_lock.h) */                                                                \
  X(GetLk, 38, "getlk", GetLkReq, LockRsp, kInline)                                            \
  X(SetLk, 39, "setlk", SetLkReq, EmptyRsp, kInline)                                           \
  X(LockCancel, 40, "lock_cancel", LockCancelReq, EmptyRsp, kInline)                           \
  X(LockRelease, 41, "lock_release", LockReleaseReq, EmptyRsp, kInline)                        \
  X(LockRenew, 42, "lock_renew", LockRenewReq, LockRenewRsp, kInline)                          \
  X(Append, 43, "append", AppendReq, AppendRsp, kMutation | kInlineUnlessSynced)               \
  /* replica -> replica: the payload is one raft::Message, and so is the */                    \
  /* answer (server/mds/raft/types.h); handed to the replica's own thread */                   \
  X(Raft, 44, "raft", void, void, kInline | kAnyReplica)                                       \
  /* the replicas (protocol_replica.h) */                                                      \
  X(MdsStatus, 45, "mds_status", MdsStatusReq, MdsStatusRsp, kAnyReplica)                      \
  X(MdsDigest, 46, "mds_digest", MdsDigestReq, MdsDigestRsp, kAnyReplica)                      \
  /* add or remove one replica; served by the leader */                                        \
  X(MdsMembers, 47, "mds_members", MdsMembersReq, EmptyRsp, 0)                                 \
  /* the OST table (protocol_ost.h) */                                                         \
  X(OstRegister, 50, "ost_register", OstRegisterReq, OstRegisterRsp, 0)                        \
  X(OstMap, 51, "ost_map", OstMapReq, OstMapRsp, kInline)

// Answered by the object storage targets (protocol_ost.h).
#define AMLFS_OST_METHODS(X)                                          \
  X(ObjWrite, 100, "obj_write", ObjWriteReq, EmptyRsp, 0)             \
  X(ObjRead, 101, "obj_read", ObjReadReq, ObjReadRsp, 0)              \
  X(ObjTruncate, 102, "obj_truncate", ObjTruncateReq, EmptyRsp, 0)    \
  X(ObjSync, 103, "obj_sync", ObjSyncReq, EmptyRsp, 0)                \
  X(ObjDestroy, 104, "obj_destroy", ObjDestroyReq, EmptyRsp, 0)       \
  X(ObjExtents, 105, "obj_extents", ObjExtentsReq, ObjExtentsRsp, 0)  \
  X(ObjFallocate, 106, "obj_fallocate", ObjFallocateReq, EmptyRsp, 0) \
  X(OstStatFs, 107, "ost_statfs", OstStatFsReq, OstStatFsRsp, 0)      \
  X(ObjList, 108, "obj_list", ObjListReq, ObjListRsp, 0)              \
  X(ObjVerify, 109, "obj_verify", ObjVerifyReq, ObjVerifyRsp, 0)

// Every method, in opcode order.
#define AMLFS_METHODS(X) AMLFS_COMMON_METHODS(X) AMLFS_MDS_METHODS(X) AMLFS_OST_METHODS(X)

}  // namespace amlfs
