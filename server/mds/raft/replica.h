// raft::Replica: one member of a Raft group, over TCP. It drives a
// raft::Node (node.h) on its own thread with a LogStore (log_store.h) on
// disk and a timer, sends the Node's messages to the other members as kRaft
// requests, and hands committed entries to the owner's apply function in
// log order. The owner routes kRaft requests it receives to Receive(), and
// answers each with what Receive's `reply` gets: this replica's own message
// back to the sender (an Append's answer rides on the Append's RPC response,
// so a round of replication costs one request and one response per member).
// The same thread runs the connections to the other members: their answers
// reach the Node with no hand-off between threads.
//
// This is the narrow interface the rest of the MDS sees: propose an entry
// and learn when it is committed and applied here; a read barrier; who
// leads.
//
// Snapshots and log compaction. Every Options::snapshot_entries applied
// entries the replica asks the owner to save its state machine into a file
// (StateMachine::save, on the replica's thread between two applies, so the
// state is exactly that of the applied index; the thread is blocked while
// it writes), fsyncs it and renames it to "snapshot-<index>-<term>" in
// Options::dir, then compacts the log up to keep_entries behind it. The
// latest snapshot file is always kept (older ones are deleted), so the
// owner's state machine need not be durable: at Open, a state machine
// behind the snapshot (applied < its index) gets it installed
// (StateMachine::install) before anything else. A follower that needs
// entries the leader compacted away gets the leader's latest snapshot file
// in chunks of snapshot_chunk bytes (kSnapshot), written to
// "snapshot.recv", fsync'd and renamed; the owner installs it, then the log
// is compacted to it. An install that fails (a corrupt file) stops the
// replica, like a disk error: nothing of the log was changed yet.
//
// Membership. ChangeMembers adds or removes one replica; the configuration
// in use (Node::members) decides whom the replica talks to: one RPC client
// per other member, made and dropped as it changes. The configuration as of
// the compaction point is kept in the log's compaction record
// (LogStore::CompactTo), so a restart from a compacted log or a received
// snapshot has it; Options::members counts only while neither holds one.
//
// Leadership. StateMachine::lead tells the owner when "this replica is the
// ready leader (Info::ready) in term T" starts or stops, so that it can take
// or give up its own role (the MDS serves only as the ready leader) without
// polling info().
//
// Thread safety: every public method may be called from any thread. The
// state machine's callbacks and every completion run on the replica's
// thread and must not block on the replica.
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
    // id -> "host:port", this one included: the initial configuration,
    // used only when the log and its snapshot point hold none. Replicas
    // named here may also reach this one before a configuration does (a new
    // replica learns of the leader that adds it).
    std::map<NodeId, std::string> members;
    std::string dir;  // the LogStore's directory
    std::chrono::milliseconds tick{50};
    int election_ticks = 10;  // a leader is suspected lost after 0.5-1 s (with 50 ms ticks)
    int heartbeat_ticks = 2;
    // A snapshot every this many applied entries (0: never); the log keeps
    // keep_entries entries behind it, so that a follower a little behind
    // catches up from the log rather than by a snapshot.
    uint64_t snapshot_entries = 10000;
    uint64_t keep_entries = 1000;
    size_t snapshot_chunk = 1 << 20;  // bytes per kSnapshot message
  };
  using Apply = std::function<void(const Entry&)>;
  using Done = std::function<void(Result<Index>)>;

  struct StateMachine {
    Apply apply;
    // When set, used instead of `apply`: the entries committed together
    // (never none), in order, applied at once.
    std::function<void(const std::vector<Entry>&)> apply_all;
    // Writes the state (which is exactly that of applied index `index`)
    // into a new file at `path`. The replica fsyncs and renames it. Null:
    // no snapshots are taken (snapshot_entries is ignored).
    std::function<Status(Index index, const std::string& path)> save;
    // Replaces the whole state with the snapshot file at `path`, which
    // covers the log up to `index`. On error (e.g. kCorrupt) the state
    // must be unchanged. Null: a snapshot cannot be installed (a replica
    // that needs one stops).
    std::function<Status(Index index, const std::string& path)> install;
    // Called with T when this replica becomes the ready leader in term T
    // (it leads and has applied its own term's first entry), and with 0 when
    // it stops being one (it no longer leads). Runs on the replica's thread
    // at the end of the Process that saw the change, after info() shows it,
    // so info() agrees with the latest call; never after Stop(). It must not
    // wait for anything the replica's thread does (a commit, an apply): hand
    // such work to another thread. Null: not called.
    std::function<void(Term ready_term)> lead;
  };

  // Opens the log in o.dir; `applied` is the last index the owner's state
  // machine holds (its entries are not applied again). If it is behind the
  // latest snapshot in o.dir, the snapshot is installed first. Fails with
  // kCorrupt when the log is compacted past every snapshot. Does not start.
  static Result<std::unique_ptr<Replica>> Open(Options o, Index applied, StateMachine sm);
  // Without snapshots.
  static Result<std::unique_ptr<Replica>> Open(Options o, Index applied, Apply apply);
  ~Replica();  // Stop()s

  void Start();
  // Stops the thread and the timer; pending proposals fail (kUnavailable).
  void Stop();

  // Appends `data` to the log; `done` gets its index once it is committed
  // and applied here. Fails with kUnavailable when this replica does not
  // lead (the message names the leader's address when known), leads in
  // another term than `term` (unless 0), or loses the leadership before
  // the entry commits (its outcome is then unknown). Entries are appended
  // in the order of the calls.
  void Propose(std::string data, Term term, Done done);
  void Propose(std::string data, Done done) { Propose(std::move(data), 0, std::move(done)); }
  // `done` runs once this replica has applied everything committed before
  // the call, as confirmed leader (a linearizable read may then be served
  // from the state machine), or with kUnavailable.
  void ReadBarrier(std::function<void(Status)> done);
  // Adds replica `id` at `address` to the configuration, or (empty
  // address) removes it, one replica at a time (Node::ProposeMembers); `done`
  // gets the entry's index once it is committed and applied here. Fails like
  // Propose when not leading, with kInvalid for an unknown id to remove or
  // a known one to add, and kBusy while another change is in progress.
  void ChangeMembers(NodeId id, std::string address, Done done);
  // A kRaft request body from another member. Malformed or misaddressed
  // messages are dropped with a log line. `reply` (may be null) gets the
  // kRaft response body, once: this replica's first message to the sender
  // from handling it, or empty when there is none.
  void Receive(std::string body, std::function<void(std::string)> reply);

  struct Info {
    NodeId id = 0;
    Role role = Role::kFollower;
    Term term = 0;
    NodeId leader = 0;
    std::string leader_address;
    Index commit = 0, applied = 0, last = 0;
    Index first = 1;           // the first entry the log holds
    Index snapshot_index = 0;  // of the latest snapshot file (0: none)
    // Leads, and has applied every entry of earlier terms (its own no-op
    // is applied): its state machine is current, it may serve.
    bool ready = false;
    // Until then no other replica can have been elected (a leader lease,
    // see Node::QuorumRound): reads may be answered from the local state
    // machine. In the past when not leading.
    std::chrono::steady_clock::time_point lease_until{};
    Members members;  // the configuration in use
    bool Serves(std::chrono::steady_clock::time_point now) const {
      return ready && now < lease_until;
    }
  };
  Info info() const;

 private:
  struct Impl;
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amlfs::raft
