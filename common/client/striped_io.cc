#include "common/client/striped_io.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include "common/checksum.h"
#include "common/client/ost_pool.h"
#include "common/codec.h"
#include "common/frame.h"
#include "common/log.h"

namespace amlfs {
namespace {

// Waits for a fixed number of asynchronous completions; keeps the first error.
class Latch {
 public:
  explicit Latch(size_t n) : left_(n) {}
  void Done(const Status& st) {
    std::lock_guard lk(mu_);
    if (!st.ok() && first_error_.ok()) first_error_ = st;
    if (--left_ == 0) cv_.notify_all();
  }
  Status Wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return left_ == 0; });
    return first_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t left_;
  Status first_error_;
};

// A contiguous run of one object, possibly several stripe units merged.
struct ObjectRun {
  OstIndex ost;
  ObjectId obj;
  uint64_t object_offset = 0;
  uint64_t length = 0;
  std::vector<StripeExtent> pieces;  // file pieces, in object order
};

std::vector<ObjectRun> Runs(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len) {
  std::map<std::pair<uint32_t, uint32_t>, std::vector<ObjectRun>> by_obj;
  for (const auto& e : MapExtent(layout, offset, len)) {
    auto& runs = by_obj[{e.comp, e.stripe}];
    if (!runs.empty() && runs.back().object_offset + runs.back().length == e.object_offset &&
        runs.back().length < (8u << 20)) {
      runs.back().length += e.length;
      runs.back().pieces.push_back(e);
      continue;
    }
    ObjectRun r;
    r.ost = e.ost;
    r.obj = ObjectOf(ino, layout, e.comp, e.stripe);
    r.object_offset = e.object_offset;
    r.length = e.length;
    r.pieces.push_back(e);
    runs.push_back(std::move(r));
  }
  std::vector<ObjectRun> out;
  for (auto& [k, runs] : by_obj)
    for (auto& r : runs) out.push_back(std::move(r));
  return out;
}

std::string ObjName(const ObjectId& o) {
  return std::to_string(o.ino) + "." + std::to_string(o.comp) + "." + std::to_string(o.stripe);
}

// Names the OST in the error. An OST that cannot be reached is an I/O error
// for the application (EIO), as on a local disk that stopped answering.
Status Prefixed(OstIndex ost, const Status& st) {
  if (st.ok()) return st;
  Code code = st.code();
  if (code == Code::kUnavailable || code == Code::kTimeout) code = Code::kIo;
  return Status(code, "OST" + std::to_string(ost.value()) + ": " + st.message());
}

// All objects of a layout, grouped by OST.
std::map<OstIndex, std::vector<ObjectId>> ObjectsByOst(InodeId ino, const Layout& layout) {
  std::map<OstIndex, std::vector<ObjectId>> out;
  for (uint32_t c = 0; c < layout.comps.size(); ++c)
    for (uint32_t s = 0; s < layout.comps[c].osts.size(); ++s)
      out[layout.comps[c].osts[s]].push_back(ObjectOf(ino, layout, c, s));
  return out;
}

}  // namespace

StripedIo::StripedIo(OstPool& pool, std::chrono::milliseconds timeout)
    : pool_(pool), timeout_(timeout) {}

Status StripedIo::Write(InodeId ino, const Layout& layout, uint64_t offset, const char* data,
                        uint64_t len, bool sync, std::string_view job) {
  if (len == 0) return Status::Ok();
  auto runs = Runs(ino, layout, offset, len);
  Latch latch(runs.size());
  for (const auto& r : runs) {
    auto client = pool_.Get(r.ost);
    if (!client.ok()) {
      latch.Done(client.status());
      continue;
    }
    std::vector<std::string_view> pieces;
    pieces.reserve(r.pieces.size());
    for (const auto& p : r.pieces) pieces.emplace_back(data + (p.file_offset - offset), p.length);
    OstIndex ost = r.ost;
    (*client)->CallAsyncFrame(
        Opcode::kObjWrite, BuildObjWriteFrame(r.obj, r.object_offset, sync, pieces, job), timeout_,
        [&latch, ost](Result<std::string> res) { latch.Done(Prefixed(ost, res.status())); }, false);
  }
  return latch.Wait();
}

Result<std::string> StripedIo::Read(InodeId ino, const Layout& layout, uint64_t offset,
                                    uint64_t len, uint64_t file_size, std::string_view job) {
  if (offset >= file_size || len == 0) return std::string();
  len = std::min(len, file_size - offset);
  std::string out(len, '\0');  // holes and missing objects read as zeros
  auto runs = Runs(ino, layout, offset, len);
  Latch latch(runs.size());
  for (const auto& r : runs) {
    auto client = pool_.Get(r.ost);
    if (!client.ok()) {
      latch.Done(client.status());
      continue;
    }
    ObjReadReq req;
    req.object = r.obj;
    req.offset = r.object_offset;
    req.length = r.length;
    req.job = job;
    const ObjectRun* run = &r;
    std::string frame(kFrameHeaderSize, '\0');
    EncodeTo(req, &frame);
    (*client)->CallAsyncFrame(
        Opcode::kObjRead, std::move(frame), timeout_,
        [&latch, &out, run, offset](Result<std::string> res) {
          if (!res.ok()) return latch.Done(Prefixed(run->ost, res.status()));
          // The data is copied once, from the response into the file buffer.
          auto view = DecodeObjReadResponse(res.value());
          if (!view.ok()) return latch.Done(Prefixed(run->ost, view.status()));
          const ObjReadView& rsp = *view;
          if (Checksum64(rsp.data) != rsp.checksum) {
            AMLFS_LOG(kError) << "checksum mismatch reading OST" << run->ost.value() << " object "
                              << ObjName(run->obj) << " offset " << run->object_offset;
            return latch.Done(Error(
                Code::kCorrupt, "checksum mismatch from OST" + std::to_string(run->ost.value()) +
                                    " object " + ObjName(run->obj) + " offset " +
                                    std::to_string(run->object_offset)));
          }
          uint64_t pos = 0;  // position within rsp.data
          for (const auto& p : run->pieces) {
            if (pos >= rsp.data.size()) break;
            uint64_t n = std::min<uint64_t>(p.length, rsp.data.size() - pos);
            std::memcpy(out.data() + (p.file_offset - offset), rsp.data.data() + pos, n);
            pos += p.length;
          }
          latch.Done(Status::Ok());
        },
        true);
  }
  AMLFS_RETURN_IF_ERROR(latch.Wait());
  return out;
}

namespace {
template <typename MakeReq>
Status ForEachOst(OstPool& pool, std::chrono::milliseconds timeout,
                  const std::map<OstIndex, std::vector<ObjectId>>& by_ost, Opcode op,
                  MakeReq make) {
  Latch latch(by_ost.size());
  for (const auto& [ost, objs] : by_ost) {
    auto client = pool.Get(ost);
    if (!client.ok()) {
      latch.Done(client.status());
      continue;
    }
    OstIndex o = ost;
    (*client)->CallAsync(op, make(objs), timeout, [&latch, o](Result<std::string> res) {
      latch.Done(Prefixed(o, res.status()));
    });
  }
  return latch.Wait();
}
}  // namespace

Status StripedIo::Sync(InodeId ino, const Layout& layout) {
  return ForEachOst(pool_, timeout_, ObjectsByOst(ino, layout), Opcode::kObjSync,
                    [](const std::vector<ObjectId>& objs) {
                      ObjSyncReq req;
                      req.objects = objs;
                      return Encode(req);
                    });
}

Status StripedIo::Destroy(InodeId ino, const Layout& layout) {
  return ForEachOst(pool_, timeout_, ObjectsByOst(ino, layout), Opcode::kObjDestroy,
                    [](const std::vector<ObjectId>& objs) {
                      ObjDestroyReq req;
                      req.objects = objs;
                      return Encode(req);
                    });
}

Status StripedIo::DestroyOn(OstIndex ost, const std::vector<ObjectId>& objects) {
  std::map<OstIndex, std::vector<ObjectId>> one{{ost, objects}};
  return ForEachOst(pool_, timeout_, one, Opcode::kObjDestroy,
                    [](const std::vector<ObjectId>& objs) {
                      ObjDestroyReq req;
                      req.objects = objs;
                      return Encode(req);
                    });
}

Status StripedIo::Truncate(InodeId ino, const Layout& layout, uint64_t new_size) {
  size_t n = 0;
  for (const auto& c : layout.comps) n += c.osts.size();
  Latch latch(n);
  for (uint32_t c = 0; c < layout.comps.size(); ++c) {
    for (uint32_t s = 0; s < layout.comps[c].osts.size(); ++s) {
      OstIndex ost = layout.comps[c].osts[s];
      auto client = pool_.Get(ost);
      if (!client.ok()) {
        latch.Done(client.status());
        continue;
      }
      ObjTruncateReq req;
      req.object = ObjectOf(ino, layout, c, s);
      req.size = ObjectSizeForFileSize(layout, c, s, new_size);
      (*client)->CallAsync(
          Opcode::kObjTruncate, Encode(req), timeout_,
          [&latch, ost](Result<std::string> res) { latch.Done(Prefixed(ost, res.status())); });
    }
  }
  return latch.Wait();
}

Status StripedIo::Fallocate(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len) {
  if (len == 0) return Error(Code::kInvalid, "fallocate of 0 bytes");
  auto runs = Runs(ino, layout, offset, len);
  Latch latch(runs.size());
  for (const auto& r : runs) {
    auto client = pool_.Get(r.ost);
    if (!client.ok()) {
      latch.Done(client.status());
      continue;
    }
    ObjFallocateReq req;
    req.object = r.obj;
    req.offset = r.object_offset;
    req.length = r.length;
    OstIndex ost = r.ost;
    (*client)->CallAsync(
        Opcode::kObjFallocate, Encode(req), timeout_,
        [&latch, ost](Result<std::string> res) { latch.Done(Prefixed(ost, res.status())); });
  }
  return latch.Wait();
}

Result<uint64_t> StripedIo::Seek(InodeId ino, const Layout& layout, uint64_t file_size,
                                 uint64_t offset, int whence) {
  if (offset >= file_size) return Error(Code::kNoDevice, "offset at or past end of file");
  // Data extents of the whole file, in file offsets.
  std::vector<std::pair<uint64_t, uint64_t>> data;  // [start, end)
  std::mutex mu;
  size_t n = 0;
  for (const auto& c : layout.comps) n += c.osts.size();
  Latch latch(n);
  for (uint32_t c = 0; c < layout.comps.size(); ++c) {
    for (uint32_t s = 0; s < layout.comps[c].osts.size(); ++s) {
      OstIndex ost = layout.comps[c].osts[s];
      auto client = pool_.Get(ost);
      if (!client.ok()) {
        latch.Done(client.status());
        continue;
      }
      ObjExtentsReq req;
      req.object = ObjectOf(ino, layout, c, s);
      (*client)->CallAsync(Opcode::kObjExtents, Encode(req), timeout_,
                           [&, c, s, ost](Result<std::string> res) {
                             if (!res.ok()) return latch.Done(Prefixed(ost, res.status()));
                             ObjExtentsRsp rsp;
                             Status st = Decode(res.value(), &rsp);
                             if (!st.ok()) return latch.Done(st);
                             const uint64_t ss = layout.comps[c].stripe_size;
                             {
                               // Released before Done(): the waiter owns `mu` and may return
                               // (destroying it) as soon as the last Done() runs.
                               std::lock_guard lk(mu);
                               for (const auto& e : rsp.extents) {
                                 // Split the object extent at stripe-unit boundaries.
                                 uint64_t pos = e.offset, end = e.offset + e.length;
                                 while (pos < end) {
                                   uint64_t unit_end = (pos / ss + 1) * ss;
                                   uint64_t n2 = std::min(end, unit_end) - pos;
                                   uint64_t f = FileOffsetOf(layout, c, s, pos);
                                   data.emplace_back(f, f + n2);
                                   pos += n2;
                                 }
                               }
                             }
                             latch.Done(Status::Ok());
                           });
    }
  }
  AMLFS_RETURN_IF_ERROR(latch.Wait());
  std::sort(data.begin(), data.end());
  if (whence == SEEK_DATA) {
    for (const auto& [b, e] : data) {
      if (b >= file_size) break;
      if (e > offset) return std::max(b, offset);
    }
    return Error(Code::kNoDevice, "no data past offset");
  }
  // SEEK_HOLE: the first offset >= `offset` not covered by data.
  uint64_t pos = offset;
  for (const auto& [b, e] : data) {
    if (b > pos) break;
    if (e > pos) pos = e;
  }
  return std::min(pos, file_size);
}

}  // namespace amlfs
