#include "common/protocol.h"

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

Result<std::string> DecodeResponse(std::string_view payload) {
  Decoder d(payload);
  uint32_t code = 0;
  std::string message;
  d.Get(code);
  d.Get(message);
  if (!d.ok()) return Error(Code::kProtocol, "malformed response header");
  if (code != 0) {
    if (code > static_cast<uint32_t>(Code::kTextBusy)) code = static_cast<uint32_t>(Code::kIo);
    return Status(static_cast<Code>(code), std::move(message));
  }
  return std::string(payload.substr(payload.size() - d.remaining()));
}

}  // namespace amlfs
