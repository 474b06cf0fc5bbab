#include "common/protocol.h"

#include <cstring>

#include "common/checksum.h"
#include "common/frame.h"

namespace amlfs {

const char* OpcodeName(Opcode op) {
  switch (op) {
    case Opcode::kHello: return "hello";
    case Opcode::kFsInfo: return "fsinfo";
    case Opcode::kLookup: return "lookup";
    case Opcode::kGetAttr: return "getattr";
    case Opcode::kSetAttr: return "setattr";
    case Opcode::kMknod: return "mknod";
    case Opcode::kMkdir: return "mkdir";
    case Opcode::kUnlink: return "unlink";
    case Opcode::kRmdir: return "rmdir";
    case Opcode::kRename: return "rename";
    case Opcode::kLink: return "link";
    case Opcode::kSymlink: return "symlink";
    case Opcode::kReadlink: return "readlink";
    case Opcode::kOpen: return "open";
    case Opcode::kCreate: return "create";
    case Opcode::kRelease: return "release";
    case Opcode::kReadDir: return "readdir";
    case Opcode::kStatFs: return "statfs";
    case Opcode::kSetXattr: return "setxattr";
    case Opcode::kGetXattr: return "getxattr";
    case Opcode::kListXattr: return "listxattr";
    case Opcode::kRemoveXattr: return "removexattr";
    case Opcode::kAccess: return "access";
    case Opcode::kUpdateSize: return "update_size";
    case Opcode::kGetLayout: return "get_layout";
    case Opcode::kSetLayout: return "set_layout";
    case Opcode::kMigrateBegin: return "migrate_begin";
    case Opcode::kMigrateCommit: return "migrate_commit";
    case Opcode::kFid2Path: return "fid2path";
    case Opcode::kGetLk: return "getlk";
    case Opcode::kSetLk: return "setlk";
    case Opcode::kLockCancel: return "lock_cancel";
    case Opcode::kLockRelease: return "lock_release";
    case Opcode::kLockRenew: return "lock_renew";
    case Opcode::kAppend: return "append";
    case Opcode::kRaft: return "raft";
    case Opcode::kAuth: return "auth";
    case Opcode::kStats: return "stats";
    case Opcode::kMdsStatus: return "mds_status";
    case Opcode::kMdsDigest: return "mds_digest";
    case Opcode::kMdsMembers: return "mds_members";
    case Opcode::kOstRegister: return "ost_register";
    case Opcode::kOstMap: return "ost_map";
    case Opcode::kObjWrite: return "obj_write";
    case Opcode::kObjRead: return "obj_read";
    case Opcode::kObjTruncate: return "obj_truncate";
    case Opcode::kObjSync: return "obj_sync";
    case Opcode::kObjDestroy: return "obj_destroy";
    case Opcode::kObjExtents: return "obj_extents";
    case Opcode::kObjFallocate: return "obj_fallocate";
    case Opcode::kOstStatFs: return "ost_statfs";
    case Opcode::kObjList: return "obj_list";
    case Opcode::kObjVerify: return "obj_verify";
  }
  return "unknown";
}

std::string EncodeResponse(const Status& status, const std::string& body) {
  std::string out;
  Encoder e(&out);
  e.Put(static_cast<uint32_t>(status.code()));
  e.Put(status.message());
  if (status.ok()) out += body;
  return out;
}

namespace {

// The body of an OK response payload (a view into it), or its error.
Result<std::string_view> ResponseBody(std::string_view payload) {
  Decoder d(payload);
  uint32_t code = 0;
  std::string message;
  d.Get(code);
  d.Get(message);
  if (!d.ok()) return Error(Code::kProtocol, "malformed response header");
  if (code != 0) {
    if (code > static_cast<uint32_t>(Code::kInterrupted)) code = static_cast<uint32_t>(Code::kIo);
    return Status(static_cast<Code>(code), std::move(message));
  }
  return payload.substr(payload.size() - d.remaining());
}

}  // namespace

Result<std::string> DecodeResponse(std::string_view payload) {
  AMLFS_ASSIGN_OR_RETURN(std::string_view body, ResponseBody(payload));
  return std::string(body);
}

namespace {

// ObjWriteReq: object, offset, checksum, sync, data (u32 length + bytes).
constexpr size_t kWriteSumAt = kFrameHeaderSize + 16 + 8;
constexpr size_t kWriteDataAt = kWriteSumAt + 8 + 1 + 4;
// OK response: u32 code, u32 empty message; ObjReadRsp: checksum, data.
constexpr size_t kReadSumAt = kFrameHeaderSize + 4 + 4;
constexpr size_t kReadDataAt = kReadSumAt + 8 + 4;

template <typename T>
void StoreAt(std::string* s, size_t at, T v) {
  std::memcpy(s->data() + at, &v, sizeof(v));
}

}  // namespace

std::string BuildObjWriteFrame(const ObjectId& object, uint64_t offset, bool sync,
                               const std::vector<std::string_view>& pieces, std::string_view job) {
  size_t len = 0;
  for (auto p : pieces) len += p.size();
  std::string frame;
  frame.reserve(kWriteDataAt + len + 4 + job.size());
  frame.resize(kFrameHeaderSize);
  Encoder e(&frame);
  e.Put(object);
  e.Put(offset);
  e.Put(uint64_t{0});
  e.Put(sync);
  e.Put(static_cast<uint32_t>(len));
  for (auto p : pieces) frame.append(p);
  e.Put(std::string(job));
  StoreAt(&frame, kWriteSumAt, Checksum64(frame.data() + kWriteDataAt, len));
  return frame;
}

Status DecodeObjWrite(std::string_view payload, ObjWriteView* v) {
  Decoder d(payload);
  uint32_t len = 0;
  d.Get(v->object);
  d.Get(v->offset);
  d.Get(v->checksum);
  d.Get(v->sync);
  d.Get(len);
  if (!d.ok() || d.remaining() < len) return Error(Code::kProtocol, "malformed object write");
  const size_t at = payload.size() - d.remaining();
  v->data = payload.substr(at, len);
  Decoder tail(payload.substr(at + len));
  tail.Get(v->job);
  if (!tail.ok() || tail.remaining() != 0) return Error(Code::kProtocol, "malformed object write");
  return Status::Ok();
}

std::string StartObjReadReply() {
  std::string frame(kReadDataAt, '\0');  // code 0, message "", checksum and length later
  return frame;
}

void FinishObjReadReply(std::string* frame) {
  const size_t len = frame->size() - kReadDataAt;
  StoreAt(frame, kReadSumAt, Checksum64(frame->data() + kReadDataAt, len));
  StoreAt(frame, kReadSumAt + 8, static_cast<uint32_t>(len));
}

Result<ObjReadView> DecodeObjReadResponse(std::string_view payload) {
  AMLFS_ASSIGN_OR_RETURN(std::string_view body, ResponseBody(payload));
  Decoder d(body);
  ObjReadView v;
  uint32_t len = 0;
  d.Get(v.checksum);
  d.Get(len);
  if (!d.ok() || d.remaining() != len) return Error(Code::kProtocol, "malformed object read response");
  v.data = body.substr(body.size() - len);
  return v;
}

}  // namespace amlfs
