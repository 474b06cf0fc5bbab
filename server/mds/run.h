// Mds::Run, the at-most-once mutation wrapper, for the ops/*.cc files.
#pragma once

#include "common/codec.h"
#include "server/mds/keys.h"
#include "server/mds/mds.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

template <typename Rsp, typename Fn>
Result<Rsp> Mds::Run(const Caller& caller, Fn&& fn) {
  uint64_t wait = 0;
  Result<Rsp> r = RunLocked<Rsp>(caller, std::forward<Fn>(fn), &wait);
  // A replicated MDS answers once the batch is applied, and with it every
  // batch the mutation read from; the lock is free meanwhile, so the next
  // mutations' batches join the same log write.
  if (Status st = WaitCommitted(wait); !st.ok()) return st;
  return r;
}

template <typename Rsp, typename Fn>
Result<Rsp> Mds::RunLocked(const Caller& caller, Fn&& fn, uint64_t* wait) {
  std::lock_guard lk(mutate_mu_);
  Txn txn = MutationTxn(Timespec::Now());
  const bool tracked = caller.seq != 0;
  std::string rkey = ReplyKey(caller.client.value(), caller.seq);
  if (tracked) {
    AMLFS_ASSIGN_OR_RETURN(auto recorded, txn.Get(rkey));
    if (recorded) {
      *wait = txn.read_seq();  // a retry of a request still committing
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
    *wait = txn.read_seq();
    if (tracked) {
      Txn record = MutationTxn(txn.now());
      record.Put(rkey, EncodeResponse(r.status(), {}));
      AMLFS_RETURN_IF_ERROR(CommitAsync(record, wait));
    }
    return r;
  }
  if (tracked) {
    txn.Put(rkey, EncodeResponse(Status::Ok(), Encode(r.value())));
    if (caller.seq > 1024) txn.Delete(ReplyKey(caller.client.value(), caller.seq - 1024));
  }
  // Nothing to write (an untracked call that changed nothing): no batch,
  // and for a replicated MDS no log entry.
  *wait = txn.read_seq();
  if (!txn.empty()) AMLFS_RETURN_IF_ERROR(CommitAsync(txn, wait));
  return r;
}

}  // namespace amlfs::mds
