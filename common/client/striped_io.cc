#include "common/client/striped_io.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <map>
#include <memory>
#include <mutex>

#include "common/checksum.h"
#include "common/client/ost_pool.h"
#include "common/codec.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/net/net_context.h"

namespace amlfs {
namespace {

// Runs an asynchronous call and waits for the value its completion gives.
// The promise is shared with the completion, which may still be returning
// from set_value() when the waiter wakes.
template <typename T, typename Start>
T Await(Start&& start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  start([promise](T v) { promise->set_value(std::move(v)); });
  return future.get();
}

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
std::string TargetName(OstIndex ost) {
  return ost == kMdtTarget ? "MDT" : "OST" + std::to_string(ost.value());
}
Status Prefixed(OstIndex ost, const Status& st) {
  if (st.ok()) return st;
  Code code = st.code();
  if (code == Code::kUnavailable || code == Code::kTimeout) code = Code::kIo;
  return Status(code, TargetName(ost) + ": " + st.message());
}

// Every object of a layout, in (component, stripe) order, with its OST.
struct LayoutObject {
  uint32_t comp = 0, stripe = 0;
  OstIndex ost;
};
std::vector<LayoutObject> ObjectsOf(const Layout& layout) {
  std::vector<LayoutObject> out;
  for (uint32_t c = 0; c < layout.comps.size(); ++c)
    for (uint32_t s = 0; s < layout.comps[c].osts.size(); ++s)
      out.push_back(LayoutObject{c, s, layout.comps[c].osts[s]});
  return out;
}

template <typename List>
std::vector<OstIndex> OstsOf(const List& list) {
  std::vector<OstIndex> out;
  out.reserve(list.size());
  for (const auto& e : list) out.push_back(e.ost);
  return out;
}

}  // namespace

StripedIo::StripedIo(OstPool& pool, std::chrono::milliseconds timeout)
    : pool_(pool), timeout_(timeout) {}

template <typename Msg>
StripedIo::Request StripedIo::Request::Of(const Msg& msg) {
  Request r;
  r.op = Msg::kOp;
  r.frame.assign(kFrameHeaderSize, '\0');  // room for the frame header
  EncodeTo(msg, &r.frame);
  return r;
}

Status StripedIo::FanOutAndWait(const std::vector<OstIndex>& osts,
                                const std::function<Request(size_t)>& make) {
  return Await<Status>([&](Done done) {
    FanOut(osts, make, [done = std::move(done)](Gathered g) { done(std::move(g.first_error)); });
  });
}

void StripedIo::FanOut(const std::vector<OstIndex>& osts,
                       const std::function<Request(size_t)>& make,
                       std::function<void(Gathered)> done) {
  struct State {
    std::mutex mu;
    size_t left = 0;
    Gathered gathered;
    std::function<void(Gathered)> done;

    void Finish(size_t i, Status st) {
      {
        std::lock_guard lk(mu);
        if (!st.ok() && gathered.first_error.ok()) gathered.first_error = st;
        gathered.each[i] = std::move(st);
        if (--left != 0) return;
      }
      done(std::move(gathered));
    }
  };
  auto state = std::make_shared<State>();
  state->gathered.each.resize(osts.size());
  state->done = std::move(done);
  // The OSTs the pool does not know fail before anything is sent, so the
  // last request to finish is always a reply, on a network thread.
  std::vector<std::shared_ptr<RpcClient>> clients(osts.size());
  std::vector<bool> to_mdt(osts.size());
  for (size_t i = 0; i < osts.size(); ++i) {
    if (osts[i] == kMdtTarget && mdt_) {
      to_mdt[i] = true;
      ++state->left;
      continue;
    }
    auto client = pool_.Get(osts[i]);
    if (client.ok()) {
      clients[i] = std::move(*client);
      ++state->left;
    } else {
      if (state->gathered.first_error.ok()) state->gathered.first_error = client.status();
      state->gathered.each[i] = client.status();
    }
  }
  if (state->left == 0) {
    boost::asio::post(pool_.net().io(), [state] { state->done(std::move(state->gathered)); });
    return;
  }
  for (size_t i = 0; i < osts.size(); ++i) {
    if (to_mdt[i]) {
      // The MDS's client takes a payload and gives the decoded body: a
      // reply wanted raw gets its status put back in front.
      Request r = make(i);
      mdt_(r.op, r.frame.substr(kFrameHeaderSize), timeout_,
           [state, i, raw = r.raw_response,
            on_reply = std::move(r.on_reply)](Result<std::string> res) {
             Status st = !res.ok()  ? Prefixed(kMdtTarget, res.status())
                         : on_reply ? on_reply(raw ? EncodeResponse(Status::Ok(), res.value())
                                                   : res.value())
                                    : Status::Ok();
             state->Finish(i, std::move(st));
           });
      continue;
    }
    if (!clients[i]) continue;
    Request r = make(i);
    clients[i]->CallAsyncFrame(
        r.op, std::move(r.frame), timeout_,
        [state, i, ost = osts[i], on_reply = std::move(r.on_reply)](Result<std::string> res) {
          Status st = !res.ok()  ? Prefixed(ost, res.status())
                      : on_reply ? on_reply(res.value())
                                 : Status::Ok();
          state->Finish(i, std::move(st));
        },
        r.raw_response);
  }
}

void StripedIo::WriteAsync(InodeId ino, const Layout& layout, uint64_t offset, const char* data,
                           uint64_t len, bool sync, std::string_view job, Done done) {
  const auto runs = len == 0 ? std::vector<ObjectRun>() : Runs(ino, layout, offset, len);
  FanOut(
      OstsOf(runs),
      [&](size_t i) {
        const ObjectRun& r = runs[i];
        std::vector<std::string_view> pieces;
        pieces.reserve(r.pieces.size());
        for (const auto& p : r.pieces)
          pieces.emplace_back(data + (p.file_offset - offset), p.length);
        Request req;
        req.op = Opcode::kObjWrite;
        req.frame = BuildObjWriteFrame(r.obj, r.object_offset, sync, pieces, job);
        return req;
      },
      [done = std::move(done)](Gathered g) { done(std::move(g.first_error)); });
}

Status StripedIo::Write(InodeId ino, const Layout& layout, uint64_t offset, const char* data,
                        uint64_t len, bool sync, std::string_view job) {
  if (len == 0) return Status::Ok();
  return Await<Status>(
      [&](Done done) { WriteAsync(ino, layout, offset, data, len, sync, job, std::move(done)); });
}

void StripedIo::ReadAsync(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len,
                          uint64_t file_size, std::string_view job, ReadDone done) {
  if (offset >= file_size) len = 0;
  len = std::min(len, file_size - std::min(offset, file_size));
  auto out = std::make_shared<std::string>(len, '\0');  // holes and missing objects read as zeros
  auto runs = std::make_shared<const std::vector<ObjectRun>>(
      len == 0 ? std::vector<ObjectRun>() : Runs(ino, layout, offset, len));
  FanOut(
      OstsOf(*runs),
      [&](size_t i) {
        const ObjectRun& r = (*runs)[i];
        ObjReadReq req;
        req.object = r.obj;
        req.offset = r.object_offset;
        req.length = r.length;
        req.job = job;
        Request q = Request::Of(req);
        q.raw_response = true;
        q.on_reply = [out, runs, i, offset](std::string_view reply) -> Status {
          const ObjectRun& run = (*runs)[i];
          // The data is copied once, from the response into the file buffer.
          auto view = DecodeObjReadResponse(reply);
          if (!view.ok()) return Prefixed(run.ost, view.status());
          const ObjReadView& rsp = *view;
          if (Checksum64(rsp.data) != rsp.checksum) {
            AMLFS_LOG(kError) << "checksum mismatch reading " << TargetName(run.ost) << " object "
                              << ObjName(run.obj) << " offset " << run.object_offset;
            return Error(Code::kCorrupt, "checksum mismatch from " + TargetName(run.ost) +
                                             " object " + ObjName(run.obj) + " offset " +
                                             std::to_string(run.object_offset));
          }
          uint64_t pos = 0;  // position within rsp.data
          for (const auto& p : run.pieces) {
            if (pos >= rsp.data.size()) break;
            uint64_t n = std::min<uint64_t>(p.length, rsp.data.size() - pos);
            std::memcpy(out->data() + (p.file_offset - offset), rsp.data.data() + pos, n);
            pos += p.length;
          }
          return Status::Ok();
        };
        return q;
      },
      [out, done = std::move(done)](Gathered g) {
        if (!g.first_error.ok()) return done(std::move(g.first_error));
        done(std::move(*out));
      });
}

Result<std::string> StripedIo::Read(InodeId ino, const Layout& layout, uint64_t offset,
                                    uint64_t len, uint64_t file_size, std::string_view job) {
  if (offset >= file_size || len == 0) return std::string();
  return Await<Result<std::string>>(
      [&](ReadDone done) { ReadAsync(ino, layout, offset, len, file_size, job, std::move(done)); });
}

void StripedIo::DestroyEachAsync(std::map<OstIndex, std::vector<ObjectId>> objects,
                                 DestroyDone done) {
  std::vector<OstIndex> osts;
  for (const auto& [ost, objs] : objects) osts.push_back(ost);
  FanOut(
      osts,
      [&](size_t i) {
        ObjDestroyReq req;
        req.objects = std::move(objects[osts[i]]);
        return Request::Of(req);
      },
      [osts, done = std::move(done)](Gathered g) {
        std::map<OstIndex, Status> by_ost;
        for (size_t i = 0; i < osts.size(); ++i) by_ost[osts[i]] = std::move(g.each[i]);
        done(std::move(by_ost));
      });
}

std::map<OstIndex, Status> StripedIo::DestroyEach(
    const std::map<OstIndex, std::vector<ObjectId>>& objects) {
  return Await<std::map<OstIndex, Status>>(
      [&](DestroyDone done) { DestroyEachAsync(objects, std::move(done)); });
}

namespace {
Status FirstError(const std::map<OstIndex, Status>& by_ost) {
  for (const auto& [ost, st] : by_ost)
    if (!st.ok()) return st;
  return Status::Ok();
}
}  // namespace

Status StripedIo::Destroy(InodeId ino, const Layout& layout) {
  return FirstError(DestroyEach(ObjectsByOst(ino, layout)));
}

Status StripedIo::DestroyOn(OstIndex ost, const std::vector<ObjectId>& objects) {
  return FirstError(DestroyEach({{ost, objects}}));
}

Status StripedIo::Sync(InodeId ino, const Layout& layout) {
  const auto by_ost = ObjectsByOst(ino, layout);
  std::vector<OstIndex> osts;
  std::vector<const std::vector<ObjectId>*> objects;
  for (const auto& [ost, objs] : by_ost) {
    osts.push_back(ost);
    objects.push_back(&objs);
  }
  return FanOutAndWait(osts, [&](size_t i) {
    ObjSyncReq req;
    req.objects = *objects[i];
    return Request::Of(req);
  });
}

Status StripedIo::Truncate(InodeId ino, const Layout& layout, uint64_t new_size) {
  const auto objects = ObjectsOf(layout);
  return FanOutAndWait(OstsOf(objects), [&](size_t i) {
    ObjTruncateReq req;
    req.object = ObjectOf(ino, layout, objects[i].comp, objects[i].stripe);
    req.size = ObjectSizeForFileSize(layout, objects[i].comp, objects[i].stripe, new_size);
    return Request::Of(req);
  });
}

Status StripedIo::Fallocate(InodeId ino, const Layout& layout, uint64_t offset, uint64_t len) {
  if (len == 0) return Error(Code::kInvalid, "fallocate of 0 bytes");
  const auto runs = Runs(ino, layout, offset, len);
  return FanOutAndWait(OstsOf(runs), [&](size_t i) {
    ObjFallocateReq req;
    req.object = runs[i].obj;
    req.offset = runs[i].object_offset;
    req.length = runs[i].length;
    return Request::Of(req);
  });
}

Result<uint64_t> StripedIo::Seek(InodeId ino, const Layout& layout, uint64_t file_size,
                                 uint64_t offset, int whence) {
  if (offset >= file_size) return Error(Code::kNoDevice, "offset at or past end of file");
  // Data extents of the whole file, in file offsets, gathered from every object.
  struct Extents {
    std::mutex mu;
    std::vector<std::pair<uint64_t, uint64_t>> data;  // [start, end)
  };
  auto extents = std::make_shared<Extents>();
  auto shared_layout = std::make_shared<const Layout>(layout);
  const auto objects = ObjectsOf(layout);
  AMLFS_RETURN_IF_ERROR(FanOutAndWait(OstsOf(objects), [&](size_t i) {
    const uint32_t c = objects[i].comp, s = objects[i].stripe;
    ObjExtentsReq req;
    req.object = ObjectOf(ino, layout, c, s);
    Request r = Request::Of(req);
    r.on_reply = [extents, l = shared_layout, c, s](std::string_view reply) -> Status {
      ObjExtentsRsp rsp;
      AMLFS_RETURN_IF_ERROR(Decode(reply, &rsp));
      const uint64_t ss = l->comps[c].stripe_size;
      std::lock_guard lk(extents->mu);
      for (const auto& e : rsp.extents) {
        // Split the object extent at stripe-unit boundaries.
        uint64_t pos = e.offset, end = e.offset + e.length;
        while (pos < end) {
          uint64_t unit_end = (pos / ss + 1) * ss;
          uint64_t n = std::min(end, unit_end) - pos;
          uint64_t f = FileOffsetOf(*l, c, s, pos);
          extents->data.emplace_back(f, f + n);
          pos += n;
        }
      }
      return Status::Ok();
    };
    return r;
  }));
  auto& data = extents->data;
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
