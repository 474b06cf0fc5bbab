// ReplicatedMds: the seam between the MDS (mds::Mds, which knows nothing
// of Raft) and its replicated log (raft::Replica, which knows nothing of the
// MDS), for amlfs-mds --peers.
//
// It does four things:
// - Replicates: replicator() is the mds::Replicator to open the Mds with;
//   it proposes each batch through the replica in the term this replica
//   leads as the MDS, so a batch built on this leadership's pending batches
//   is never appended in a later term, where those may be gone.
// - Applies: the replica's state machine is the Mds (ApplyLogged, in one
//   write for the entries committed together; SaveSnapshot and
//   InstallSnapshot, on the replica's thread).
// - Leads: when the replica becomes the ready leader in a term
//   (raft::Replica::StateMachine::lead), Mds::TakeLead runs; when it stops
//   leading, Mds::StepDown. Only then, in that term and within the leader
//   lease, does Gate() let requests through.
// - Serves the replication hooks of MdsService (Hooks()): kRaft messages,
//   the gate, kMdsStatus and kMdsMembers.
//
// Ownership: a ReplicatedMds owns its raft::Replica and its replicator and
// the thread that takes and gives up the lead. It does not own the Mds,
// which must have been opened with replicator() and must outlive Stop().
//
// Threads: TakeLead may wait for its own batch (a new file system's root)
// to commit, which the replica's thread applies, so it cannot run in the
// replica's callback: the callback records the wanted term and wakes the
// lead thread (a condition variable), which runs TakeLead and StepDown one
// at a time, in the order of the changes. A TakeLead that fails is retried
// every 20 ms while the replica still leads in that term. Every public
// method may be called from any thread after Open(); Gate(), Describe() and
// the hooks do not block.
//
// Errors: Open fails like raft::Replica::Open (kCorrupt for a log compacted
// past every snapshot, or the install's error). Gate() returns
// NotLeaderError(leader's address) when another replica is known to lead,
// else kUnavailable. ChangeMembers answers kInvalid for a bad id or address,
// else as raft::Replica::ChangeMembers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "server/mds/mds.h"
#include "server/mds/raft/replica.h"
#include "server/mds/service.h"

namespace amlfs::mds {

class ReplicatedMds {
 public:
  // `replica`: id, members, dir, snapshot settings and timing of the replica.
  explicit ReplicatedMds(raft::Replica::Options replica);
  ~ReplicatedMds();  // Stop()s

  ReplicatedMds(const ReplicatedMds&) = delete;
  ReplicatedMds& operator=(const ReplicatedMds&) = delete;

  // The Replicator to give Mds::Open; valid as long as this object.
  Replicator* replicator();
  // Opens the replica's log with `mds` as its state machine (from
  // mds->AppliedIndex(); a snapshot ahead of it is installed first). Does
  // not start. REQUIRES: `mds` was opened with replicator(); called once.
  Status Open(Mds* mds);
  // Starts the replica and the lead thread. REQUIRES: Open succeeded.
  void Start();
  // Stops the replica (pending proposals fail, which ends a TakeLead
  // waiting on one) and joins the lead thread. The Mds is not stepped down.
  // Idempotent; may be called without Open.
  void Stop();

  // OK while this replica serves as the MDS: the ready leader, in the term
  // it took the lead in, within its leader lease. Reads are answered from
  // this replica's database, so a deposed leader cut off from the others
  // stops answering before a new leader can have changed anything.
  Status Gate() const;
  // This replica's state, for kMdsStatus.
  MdsStatusRsp Describe() const;
  // Adds replica `id` at `address`, or removes it (empty address); `done`
  // runs once the change is committed, or with why not.
  void ChangeMembers(uint32_t id, std::string address, std::function<void(Status)> done);
  // The hooks MdsService serves with; valid as long as this object.
  // REQUIRES: Open succeeded.
  MdsService::Replication Hooks();

  raft::Replica::Info info() const;
  // The term in which this replica took the lead as the MDS (0: it does not).
  raft::Term leading_term() const { return leading_term_.load(); }

 private:
  class Proposer;
  bool Serves(const raft::Replica::Info& i) const;
  void LeadLoop();

  raft::Replica::Options options_;
  Mds* mds_ = nullptr;
  std::unique_ptr<Proposer> proposer_;
  std::unique_ptr<raft::Replica> replica_;
  std::atomic<raft::Term> leading_term_{0};

  // The lead thread's state: what the replica last reported, under mu_.
  std::mutex mu_;
  std::condition_variable changed_;
  raft::Term ready_term_ = 0;  // the latest StateMachine::lead argument
  bool stopping_ = false;
  std::thread lead_thread_;
};

}  // namespace amlfs::mds
