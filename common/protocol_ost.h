// The amlfs wire protocol, object storage target half: the messages clients
// and the MDS send to OSTs, the OSTs' registration with the MDS, and the
// in-place forms of the bulk data messages. See protocol_base.h for
// the conventions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/protocol_base.h"

namespace amlfs {

// ---------------------------------------------------------------- OST

// Writes `data` at `offset` of the object, creating it if needed.
// `checksum` is Checksum64(data); the OST verifies it before storing.
// `job`: the writing process's job id ("": none), for job statistics.
struct ObjWriteReq {
  static constexpr Opcode kOp = Opcode::kObjWrite;
  using Response = EmptyRsp;
  ObjectId object;
  uint64_t offset = 0;
  uint64_t checksum = 0;
  bool sync = false;  // fsync the object before answering
  std::string data;
  std::string job;
  AMLFS_FIELDS(object, offset, checksum, sync, data, job)
};

// Reads up to `length` bytes; a short answer means the object ends there
// (a missing object reads as empty). `checksum` is Checksum64(data).
struct ObjReadRsp {
  uint64_t checksum = 0;
  std::string data;
  AMLFS_FIELDS(checksum, data)
};
struct ObjReadReq {
  static constexpr Opcode kOp = Opcode::kObjRead;
  using Response = ObjReadRsp;
  ObjectId object;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string job;  // as in ObjWriteReq
  AMLFS_FIELDS(object, offset, length, job)
};

struct ObjTruncateReq {
  static constexpr Opcode kOp = Opcode::kObjTruncate;
  using Response = EmptyRsp;
  ObjectId object;
  uint64_t size = 0;
  AMLFS_FIELDS(object, size)
};

struct ObjSyncReq {
  static constexpr Opcode kOp = Opcode::kObjSync;
  using Response = EmptyRsp;
  std::vector<ObjectId> objects;
  AMLFS_FIELDS(objects)
};

// Removes objects; missing ones are not an error.
struct ObjDestroyReq {
  static constexpr Opcode kOp = Opcode::kObjDestroy;
  using Response = EmptyRsp;
  std::vector<ObjectId> objects;
  AMLFS_FIELDS(objects)
};

// Data extents of an object (for SEEK_DATA/SEEK_HOLE), and its size.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  AMLFS_FIELDS(offset, length)
};
struct ObjExtentsRsp {
  uint64_t size = 0;
  std::vector<Extent> extents;
  AMLFS_FIELDS(size, extents)
};
struct ObjExtentsReq {
  static constexpr Opcode kOp = Opcode::kObjExtents;
  using Response = ObjExtentsRsp;
  ObjectId object;
  AMLFS_FIELDS(object)
};

struct ObjFallocateReq {
  static constexpr Opcode kOp = Opcode::kObjFallocate;
  using Response = EmptyRsp;
  ObjectId object;
  uint64_t offset = 0;
  uint64_t length = 0;
  AMLFS_FIELDS(object, offset, length)
};

struct OstStatFsRsp {
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t objects = 0;
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  AMLFS_FIELDS(capacity_bytes, free_bytes, avail_bytes, objects, total_inodes, free_inodes)
};
struct OstStatFsReq {
  static constexpr Opcode kOp = Opcode::kOstStatFs;
  using Response = OstStatFsRsp;
  AMLFS_FIELDS()
};

// The objects of an OST in (ino, comp, stripe) order, from just after
// `after` (from the first when !has_after), at most `max` (`amlfs scrub`).
struct ObjEntry {
  ObjectId object;
  uint64_t size = 0;
  AMLFS_FIELDS(object, size)
};
struct ObjListRsp {
  std::vector<ObjEntry> objects;
  bool done = false;  // no object follows the last one listed
  AMLFS_FIELDS(objects, done)
};
struct ObjListReq {
  static constexpr Opcode kOp = Opcode::kObjList;
  using Response = ObjListRsp;
  bool has_after = false;
  ObjectId after;
  uint32_t max = 0;
  AMLFS_FIELDS(has_after, after, max)
};

// Checks the checksum of every block of [offset, offset + length) of an
// object against the data on disk. A mismatch is an answer, not an error
// (and the OST logs it, naming the object and offset).
struct ObjVerifyRsp {
  uint64_t verified = 0;  // bytes checked (short at the object's end)
  bool damaged = false;
  uint64_t bad_offset = 0;  // the first damaged block, when damaged
  AMLFS_FIELDS(verified, damaged, bad_offset)
};
struct ObjVerifyReq {
  static constexpr Opcode kOp = Opcode::kObjVerify;
  using Response = ObjVerifyRsp;
  ObjectId object;
  uint64_t offset = 0;
  uint64_t length = 0;
  AMLFS_FIELDS(object, offset, length)
};

// ---------------------------------------------------------------- OST management (MDS)

// An OST announces itself at start and then periodically (a heartbeat);
// the MDS marks an OST down when its heartbeats stop.
struct OstRegisterRsp {
  std::string fs_uuid;
  AMLFS_FIELDS(fs_uuid)
};
struct OstRegisterReq {
  static constexpr Opcode kOp = Opcode::kOstRegister;
  using Response = OstRegisterRsp;
  OstIndex index;
  std::string address;   // where clients reach it
  std::string ost_uuid;  // identifies its data directory
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  AMLFS_FIELDS(index, address, ost_uuid, capacity_bytes, free_bytes, avail_bytes, total_inodes,
               free_inodes)
};

struct OstMapRsp {
  std::vector<OstInfo> osts;
  AMLFS_FIELDS(osts)
};
struct OstMapReq {
  static constexpr Opcode kOp = Opcode::kOstMap;
  using Response = OstMapRsp;
  AMLFS_FIELDS()
};

// ---------------------------------------------------------------- bulk data

// In-place forms of the bulk data messages, byte for byte the same as
// ObjWriteReq and ObjReadRsp (both are built and read by walking the
// message's fields, see InPlaceEncoder in codec.h), so that data is copied
// once on each side.

// A whole ObjWriteReq frame (kFrameHeaderSize bytes left for the header,
// see RpcClient::CallAsyncFrame) carrying `pieces` one after another as its
// data, with their checksum.
std::string BuildObjWriteFrame(const ObjectId& object, uint64_t offset, bool sync,
                               const std::vector<std::string_view>& pieces,
                               std::string_view job = {});
struct ObjWriteView {
  ObjectId object;
  uint64_t offset = 0;
  uint64_t checksum = 0;
  bool sync = false;
  std::string_view data;  // points into the payload
  std::string job;
};
// Fails with kProtocol on a payload that is not exactly one ObjWriteReq.
Status DecodeObjWrite(std::string_view payload, ObjWriteView* v);

// An OK ObjReadRsp response frame, built in place: the constructor writes
// it up to the data (kFrameHeaderSize bytes left for the header, see
// RpcCall::ReplyFrame, then the OK status), the caller appends the data to
// *data(), and Finish() fills in the data's length and checksum and gives
// the frame. Not copyable: it points into itself.
class ObjReadReplyFrame {
 public:
  ObjReadReplyFrame();
  std::string* data() { return &frame_; }  // append the data here, nothing else
  size_t data_size() const { return encoder_.bulk().size(); }
  std::string Finish();

 private:
  ObjReadRsp rsp_;
  std::string frame_;
  InPlaceEncoder<ObjReadRsp> encoder_;
};
struct ObjReadView {
  uint64_t checksum = 0;
  std::string_view data;  // points into the payload
};
// Decodes a whole ObjRead response payload (status first): the OST's error,
// or kProtocol on a body that is not exactly one ObjReadRsp.
Result<ObjReadView> DecodeObjReadResponse(std::string_view payload);

}  // namespace amlfs
