#include "server/mds/replicated.h"

#include <chrono>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/log.h"
#include "common/protocol.h"

namespace amlfs::mds {

using namespace std::chrono_literals;

// The batches go to the log in the term this replica took the lead in (set
// before Mds::TakeLead, whose own batch is the first of that term).
class ReplicatedMds::Proposer : public Replicator {
 public:
  void Replicate(std::string ops, std::function<void(Status)> done) override {
    if (!replica) return done(Error(Code::kUnavailable, "the metadata replica is not open"));
    replica->Propose(std::move(ops), term.load(), [done = std::move(done)](Result<raft::Index> r) {
      done(r.ok() ? Status::Ok() : r.status());
    });
  }
  raft::Replica* replica = nullptr;  // set once, by Open, before any batch
  std::atomic<raft::Term> term{0};
};

ReplicatedMds::ReplicatedMds(raft::Replica::Options replica)
    : options_(std::move(replica)), proposer_(std::make_unique<Proposer>()) {}

ReplicatedMds::~ReplicatedMds() { Stop(); }

Replicator* ReplicatedMds::replicator() { return proposer_.get(); }

Status ReplicatedMds::Open(Mds* mds) {
  mds_ = mds;
  raft::Replica::StateMachine sm;
  // The entries committed together go into the database in one write.
  sm.apply_all = [mds](const std::vector<raft::Entry>& entries) {
    std::vector<std::string_view> ops;
    for (const raft::Entry& e : entries)
      if (e.type == raft::EntryType::kCommand) ops.push_back(e.data);
    mds->ApplyLogged(entries.back().index, ops);
  };
  // Both run on the replica's thread: the database then holds exactly the
  // applied entries. A save blocks that thread while it writes.
  sm.save = [mds](raft::Index i, const std::string& path) { return mds->SaveSnapshot(i, path); };
  sm.install = [mds](raft::Index i, const std::string& path) {
    return mds->InstallSnapshot(i, path);
  };
  // On the replica's thread, which applies the log TakeLead may wait on:
  // only wakes the lead thread.
  sm.lead = [this](raft::Term ready_term) {
    {
      std::lock_guard lk(mu_);
      ready_term_ = ready_term;
    }
    changed_.notify_all();
  };
  AMLFS_ASSIGN_OR_RETURN(replica_,
                         raft::Replica::Open(options_, mds->AppliedIndex(), std::move(sm)));
  proposer_->replica = replica_.get();
  return Status::Ok();
}

void ReplicatedMds::Start() {
  lead_thread_ = std::thread([this] { LeadLoop(); });
  replica_->Start();
}

void ReplicatedMds::Stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  // First the replica: a TakeLead waiting for its batch then fails at once.
  if (replica_) replica_->Stop();
  if (lead_thread_.joinable()) lead_thread_.join();
}

// A replica acts as the MDS only while it leads with a current state
// machine: the lead thread follows the replica's reports one at a time, so
// TakeLead and StepDown never overlap.
void ReplicatedMds::LeadLoop() {
  std::unique_lock lk(mu_);
  auto work = [this] {
    const raft::Term have = leading_term_.load();
    return stopping_ || (ready_term_ != 0 && ready_term_ != have) ||
           (ready_term_ == 0 && have != 0);
  };
  while (true) {
    changed_.wait(lk, work);
    if (stopping_) return;
    const raft::Term want = ready_term_;
    lk.unlock();
    if (want != 0) {
      proposer_->term = want;
      amlfs::Status st = mds_->TakeLead();
      if (st.ok()) {
        leading_term_ = want;
        AMLFS_LOG(kInfo) << "replica " << options_.id << " leads, term " << want;
      } else {
        AMLFS_LOG(kWarn) << "cannot take the lead: " << st.ToString();
      }
      lk.lock();
      // Retried while the replica still leads in that term.
      if (!st.ok()) changed_.wait_for(lk, 20ms, [&] { return stopping_ || ready_term_ != want; });
    } else {
      leading_term_ = 0;
      mds_->StepDown();
      const raft::Replica::Info i = replica_->info();
      AMLFS_LOG(kInfo) << "replica " << i.id << " follows"
                       << (i.leader ? ", leader " + i.leader_address : std::string());
      lk.lock();
    }
  }
}

raft::Replica::Info ReplicatedMds::info() const {
  return replica_ ? replica_->info() : raft::Replica::Info{};
}

bool ReplicatedMds::Serves(const raft::Replica::Info& i) const {
  return i.Serves(std::chrono::steady_clock::now()) && i.term == leading_term_.load();
}

Status ReplicatedMds::Gate() const {
  if (!replica_) return Error(Code::kUnavailable, "no metadata leader yet");
  const raft::Replica::Info i = replica_->info();
  if (Serves(i)) return Status::Ok();
  if (i.leader != 0 && i.leader != i.id) return NotLeaderError(i.leader_address);
  return Error(Code::kUnavailable, "no metadata leader yet");
}

MdsStatusRsp ReplicatedMds::Describe() const {
  const raft::Replica::Info i = info();
  MdsStatusRsp s;
  s.replicated = true;
  s.id = i.id;
  s.role = raft::RoleName(i.role);
  s.term = i.term;
  s.leader = i.leader;
  s.commit = i.commit;
  s.applied = i.applied;
  s.first = i.first;
  s.last = i.last;
  s.serving = Serves(i);
  for (auto& [id, addr] : i.members) s.members.push_back(MdsMember{id, addr});
  return s;
}

void ReplicatedMds::ChangeMembers(uint32_t id, std::string address,
                                  std::function<void(Status)> done) {
  if (id == 0 || id > 255) return done(Error(Code::kInvalid, "replica IDs run from 1 to 255"));
  if (!address.empty()) {
    auto hp = ParseHostPort(address);
    if (!hp.ok()) return done(Error(Code::kInvalid, "'" + address + "': " + hp.status().message()));
  }
  if (!replica_) return done(Error(Code::kUnavailable, "the metadata replica is not open"));
  replica_->ChangeMembers(static_cast<raft::NodeId>(id), std::move(address),
                          [done = std::move(done)](Result<raft::Index> r) {
                            done(r.ok() ? Status::Ok() : r.status());
                          });
}

MdsService::Replication ReplicatedMds::Hooks() {
  MdsService::Replication r;
  r.raft = [this](std::string body, std::function<void(std::string)> reply) {
    replica_->Receive(std::move(body), std::move(reply));
  };
  r.gate = [this] { return Gate(); };
  r.status = [this] { return Describe(); };
  r.members = [this](uint32_t id, std::string address, std::function<void(Status)> done) {
    ChangeMembers(id, std::move(address), std::move(done));
  };
  return r;
}

}  // namespace amlfs::mds
