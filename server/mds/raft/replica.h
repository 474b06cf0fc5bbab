// raft::Replica: one member of a Raft group, over TCP. It drives a
// raft::Node (node.h) on its own thread with a LogStore (log_store.h) on
// disk and a timer, sends the Node's messages to the other members as kRaft
// requests, and hands committed entries to the owner's apply function in
// log order. The owner routes kRaft requests it receives to Receive().
//
// This is the narrow interface the rest of the MDS sees: propose an entry
// and learn when it is committed and applied here; a read barrier; who
// leads.
//
// Thread safety: every public method may be called from any thread. The
// apply function and every completion run on the replica's thread and must
// not block on the replica.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/mds/raft/node.h"

namespace amlfs::raft {

class Replica {
 public:
  struct Options {
    NodeId id = 0;
    std::map<NodeId, std::string> members;  // id -> "host:port", this one included
    std::string dir;                         // the LogStore's directory
    std::chrono::milliseconds tick{50};
    int election_ticks = 10;  // a leader is suspected lost after 0.5-1 s (with 50 ms ticks)
    int heartbeat_ticks = 2;
  };
  using Apply = std::function<void(const Entry&)>;
  using Done = std::function<void(Result<Index>)>;

  // Opens the log in o.dir; `applied` is the last index the owner's state
  // machine holds (its entries are not applied again). Does not start.
  static Result<std::unique_ptr<Replica>> Open(Options o, Index applied, Apply apply);
  ~Replica();  // Stop()s

  void Start();
  // Stops the thread and the timer; pending proposals fail (kUnavailable).
  void Stop();

  // Appends `data` to the log; `done` gets its index once it is committed
  // and applied here. Fails with kUnavailable when this replica does not
  // lead (the message names the leader's address when known) or loses the
  // leadership before the entry commits (its outcome is then unknown).
  void Propose(std::string data, Done done);
  // `done` runs once this replica has applied everything committed before
  // the call, as confirmed leader (a linearizable read may then be served
  // from the state machine), or with kUnavailable.
  void ReadBarrier(std::function<void(Status)> done);
  // A kRaft request body from another member. Malformed or misaddressed
  // messages are dropped with a log line.
  void Receive(std::string body);

  struct Info {
    NodeId id = 0;
    Role role = Role::kFollower;
    Term term = 0;
    NodeId leader = 0;
    std::string leader_address;
    Index commit = 0, applied = 0, last = 0;
    // Leads, and has applied every entry of earlier terms (its own no-op
    // is applied): its state machine is current, it may serve.
    bool ready = false;
    // Until then no other replica can have been elected (a leader lease,
    // see Node::QuorumRound): reads may be answered from the local state
    // machine. In the past when not leading.
    std::chrono::steady_clock::time_point lease_until{};
    bool Serves(std::chrono::steady_clock::time_point now) const { return ready && now < lease_until; }
  };
  Info info() const;

 private:
  struct Impl;
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amlfs::raft
