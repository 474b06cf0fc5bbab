// Mds::Run, the at-most-once mutation wrapper, for the ops/*.cc files.
//
// A tracked request (caller.seq != 0) has its encoded answer recorded in
// its own batch under ReplyKey(client, seq); a retry finds the record and
// gets the same answer, whether the first attempt reached this leader or
// an earlier one. The client keeps the last 1024 answers.
#pragma once

#include "common/codec.h"
#include "server/mds/keys.h"
#include "server/mds/mds.h"
#include "server/mds/txn.h"

namespace amlfs::mds {

// A replicated MDS answers once the batch is applied, and with it every
// batch the mutation read from. Run returns that batch with the answer and
// the caller waits for it with the mutation lock free, so the next
// mutations' batches join the same log write.
template <typename Rsp, typename Fn>
Committed<Rsp> Mds::Run(const Caller& caller, Fn&& fn) {
  std::lock_guard lk(store_->mutation_mu());
  Txn txn = store_->MutationTxn(Timespec::Now());
  const bool tracked = caller.seq != 0;
  std::string rkey = ReplyKey(caller.client.value(), caller.seq);
  if (tracked) {
    AMLFS_ASSIGN_OR_RETURN(auto recorded, txn.Get(rkey));
    if (recorded) {
      auto body = DecodeResponse(*recorded);
      if (!body.ok()) return body.status();
      Rsp rsp;
      AMLFS_RETURN_IF_ERROR(Decode(body.value(), &rsp));
      return {std::move(rsp), txn.read_seq()};  // a retry of a request still committing
    }
  }
  Result<Rsp> r = fn(txn);
  uint64_t wait = txn.read_seq();
  if (!r.ok()) {
    if (auto undo = txn.TakeUndo()) undo();
    // Nothing changes; still record the answer so a retry gets the same one.
    if (tracked) {
      Txn record = store_->MutationTxn(txn.now());
      record.Put(rkey, EncodeResponse(r.status(), {}));
      AMLFS_RETURN_IF_ERROR(store_->CommitAsync(record, &wait));
    }
    return {std::move(r), wait};
  }
  if (tracked) {
    txn.Put(rkey, EncodeResponse(Status::Ok(), Encode(r.value())));
    if (caller.seq > 1024) txn.Delete(ReplyKey(caller.client.value(), caller.seq - 1024));
  }
  if (txn.empty()) {
    // Nothing to write (an untracked call that changed nothing): no batch,
    // and for a replicated MDS no log entry. What it changed in memory
    // stands or falls with the batches it read.
    if (auto undo = txn.TakeUndo(); undo && wait != 0)
      store_->WhenCommitted(wait, [undo = std::move(undo)](Status st) {
        if (!st.ok()) undo();
      });
    return {std::move(r), wait};
  }
  AMLFS_RETURN_IF_ERROR(store_->CommitAsync(txn, &wait));
  return {std::move(r), wait};
}

}  // namespace amlfs::mds
