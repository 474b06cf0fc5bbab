// Mds::Run, the at-most-once mutation wrapper, for the ops/*.cc files.
#pragma once

#include "common/codec.h"
#include "server/mds/keys.h"
#include "server/mds/mds.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

template <typename Rsp, typename Fn>
Result<Rsp> Mds::Run(const Caller& caller, Fn&& fn) {
  std::lock_guard lk(mutate_mu_);
  Txn txn(db_.get(), Timespec::Now());
  const bool tracked = caller.seq != 0;
  std::string rkey = ReplyKey(caller.client.value(), caller.seq);
  if (tracked) {
    AMLFS_ASSIGN_OR_RETURN(auto recorded, txn.Get(rkey));
    if (recorded) {
      auto body = DecodeResponse(*recorded);
      if (!body.ok()) return body.status();
      Rsp rsp;
      AMLFS_RETURN_IF_ERROR(Decode(body.value(), &rsp));
      return rsp;
    }
  }
  Result<Rsp> r = fn(txn);
  if (!r.ok()) {
    // Nothing changes; still record the answer so a retry gets the same one.
    Txn record(db_.get(), txn.now());
    if (tracked) {
      record.Put(rkey, EncodeResponse(r.status(), {}));
      AMLFS_RETURN_IF_ERROR(Commit(record));
    }
    return r;
  }
  if (tracked) {
    txn.Put(rkey, EncodeResponse(Status::Ok(), Encode(r.value())));
    if (caller.seq > 1024) txn.Delete(ReplyKey(caller.client.value(), caller.seq - 1024));
  }
  // Nothing to write (an untracked call that changed nothing): no batch,
  // and for a replicated MDS no log entry.
  if (!txn.empty()) AMLFS_RETURN_IF_ERROR(Commit(txn));
  return r;
}

}  // namespace amlfs::mds
