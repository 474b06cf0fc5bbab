// StripedIo: file data I/O over a layout's objects. Each call is split by
// the stripe math (common/layout.h) into per-object (or per-OST) requests,
// which are sent at once through the OSTs' RpcClients and gathered into one
// completion. Shared by the FUSE client (reads, writes, fsync, fallocate,
// SEEK_DATA), the tools and the MDS (truncate, destroy). Holds no per-file
// state; borrows the OstPool, which must outlive it.
//
// Checksums: each write request carries one Checksum64 of its data, computed
// by the writer, which the OST verifies before storing. Each read reply
// carries one of the data sent; a mismatch fails the read with kCorrupt
// naming the OST, object and offset.
//
// Data-on-MDT: the objects of a component on kMdtTarget are served by the
// MDS, with the same requests; SetMdt says how to reach it (a mount: its
// MdsClient, which follows the leader; the MDS: itself).
//
// Errors: an error from any request fails the whole call with the first
// error to arrive (DestroyEach: per OST). An OST that cannot be reached or
// does not answer in time is kIo, "OSTn: ...", as a local disk that stopped
// answering; an OST the pool does not know is kNotFound naming it.
//
// Asynchronous calls (the ...Async ones) return at once; their `done` runs
// exactly once, on a network thread (never on the calling thread, even when
// nothing could be sent), possibly before the call returns. `done` must not
// block: it holds up every connection of that thread. The asynchronous
// calls themselves never block, so they may be called from a `done`.
// Blocking calls wait for the asynchronous one.
// REQUIRES: a blocking call is not made on a network thread.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/layout.h"
#include "common/protocol.h"
#include "common/status.h"

namespace amlfs {

class OstPool;

class StripedIo {
 public:
  using Done = std::function<void(Status)>;
  using ReadDone = std::function<void(Result<std::string>)>;
  using DestroyDone = std::function<void(std::map<OstIndex, Status>)>;

  // Every request gets `timeout` as its deadline.
  StripedIo(OstPool& pool, std::chrono::milliseconds timeout);

  // Sends request `payload` (opcode `op`) to the MDS; `done` gets the
  // response body or the error, once, on a network thread.
  using MdtCall =
      std::function<void(Opcode op, std::string payload, std::chrono::milliseconds timeout,
                         std::function<void(Result<std::string>)> done)>;
  // Where requests for kMdtTarget's objects go. Unset, they fail as those
  // of an unknown OST. REQUIRES: called before the first request.
  void SetMdt(MdtCall call) { mdt_ = std::move(call); }

  // Writes `len` bytes at file `offset`. With `sync`, each OST fsyncs the
  // object before answering. `job` tags the requests for the OSTs' job
  // statistics. `data` and `job` need only live for the call: they are
  // copied into the requests before WriteAsync returns.
  void WriteAsync(InodeId ino, const Layout& layout, uint64_t offset, const char* data,
                  uint64_t len, bool sync, std::string_view job, Done done);
  Status Write(InodeId ino, const Layout& layout, uint64_t offset, const char* data, uint64_t len,
               bool sync = false, std::string_view job = {});

  // Reads [offset, offset+len) clipped to `file_size`; missing objects and
  // holes read as zeros. Gives the bytes (shorter than len only at EOF).
  void ReadAsync(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len,
                 uint64_t file_size, std::string_view job, ReadDone done);
  Result<std::string> Read(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len,
                           uint64_t file_size, std::string_view job = {});

  // Removes objects, one request per OST (each key of `objects`), all at
  // once. `done` gets one status per key: Ok when the OST removed them
  // (objects it does not have are not an error), else that OST's own error
  // (an unreachable OST is kIo after the timeout, an unknown one
  // kNotFound); one OST's failure never changes another's status.
  // DestroyEachAsync never blocks, so it may be called from a network thread.
  void DestroyEachAsync(std::map<OstIndex, std::vector<ObjectId>> objects, DestroyDone done);
  std::map<OstIndex, Status> DestroyEach(const std::map<OstIndex, std::vector<ObjectId>>& objects);
  // Removes the file's objects on every OST of the layout, or the given
  // objects on one OST: DestroyEach's statuses folded to the first error.
  Status Destroy(InodeId ino, const Layout& layout);
  Status DestroyOn(OstIndex ost, const std::vector<ObjectId>& objects);

  // Makes every object of the file durable on its OST's disk.
  Status Sync(InodeId ino, const Layout& layout);

  // Cuts or extends every object so the file is `new_size` bytes long.
  Status Truncate(InodeId ino, const Layout& layout, uint64_t new_size);

  // Reserves space for file bytes [offset, offset+len) (fallocate mode 0).
  // kInvalid for len 0.
  Status Fallocate(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len);

  // lseek(SEEK_DATA / SEEK_HOLE) over the file's objects. `whence` is
  // SEEK_DATA (3) or SEEK_HOLE (4). kNoDevice when offset >= file_size or
  // there is no data after it.
  Result<uint64_t> Seek(InodeId ino, const Layout& layout, uint64_t file_size, uint64_t offset,
                        int whence);

 private:
  // One RPC of a fan-out, built just before it is sent.
  struct Request {
    Opcode op = Opcode::kObjWrite;
    std::string frame;  // kFrameHeaderSize bytes of room, then the payload
    bool raw_response = false;
    // Given the reply when the RPC succeeded; its status is the request's.
    // Null: the reply carries nothing but its status. Runs on a network
    // thread, concurrently with the other requests' (must not block).
    std::function<Status(std::string_view reply)> on_reply;
    // The request carrying message `msg` (its opcode, and it encoded).
    template <typename Msg>
    static Request Of(const Msg& msg);
  };
  // What a fan-out gathered: each request's status, in the order of its
  // OST in `osts`, and the first error to arrive (Ok when none).
  struct Gathered {
    std::vector<Status> each;
    Status first_error;
  };
  // The one fan-out: sends make(i) to osts[i] for every i, all at once, and
  // runs `done` once every request has finished (see the header comment
  // for its thread). make(i) runs on the calling thread, before FanOut
  // returns, only for the OSTs the pool knows.
  void FanOut(const std::vector<OstIndex>& osts, const std::function<Request(size_t)>& make,
              std::function<void(Gathered)> done);
  // FanOut, waited for: the first error (Ok when none).
  Status FanOutAndWait(const std::vector<OstIndex>& osts,
                       const std::function<Request(size_t)>& make);

  OstPool& pool_;
  std::chrono::milliseconds timeout_;
  MdtCall mdt_;
};

}  // namespace amlfs
