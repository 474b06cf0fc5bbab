// OstTable: the OSTs the metadata server knows, and where new files go.
//
// Each OST registers at start and then heartbeats (OstRegister); one that
// has not been heard from for `ost_timeout` is down. The table is the
// source of the map clients are given (OstMap, FsInfo), of `lfs df`'s
// space figures (StatFs), and of the allocator that picks a new file's
// OSTs (Allocate). What survives a restart is each OST's address and data
// directory uuid (OstRec, keys.h OstKey); the MDS persists a registration
// that changes them and reloads the table with Load.
//
// Thread-safe (one mutex, never held while calling out, except into the
// OstPool given, whose Update does not call back). Owned by the Mds.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "common/layout.h"
#include "common/protocol.h"
#include "common/status.h"
#include "server/mds/records.h"

namespace amlfs {
class OstPool;
}

namespace amlfs::mds {

class OstTable {
 public:
  struct Defaults {
    int32_t stripe_count = 1;  // -1: every OST
    uint64_t stripe_size = 1 << 20;
    // The largest Data-on-MDT component (a longer one is cut to it, as
    // Lustre's dom_stripesize does); 0: Data-on-MDT is refused.
    uint64_t dom_max = 1 << 20;
  };
  // `pool` (may be null) is told the map whenever an OST's address or
  // state changes, so the MDS's own OST clients follow it.
  OstTable(std::chrono::milliseconds ost_timeout, Defaults defaults, OstPool* pool)
      : timeout_(ost_timeout), defaults_(defaults), pool_(pool) {}

  // Replaces the table with the OSTs recorded in the database, all down
  // until they heartbeat.
  void Load(const std::map<uint32_t, OstRec>& recorded);

  // A registration or heartbeat. kExists when the index belongs to another
  // data directory (its uuid differs). *persist: the address or uuid is new
  // and must be recorded (OstKey) by the caller.
  Status Register(const OstRegisterReq& r, bool* persist);

  // Every OST, with `up` as of now.
  std::vector<OstInfo> Snapshot() const;
  // Logs each OST that has stopped heartbeating, once.
  void NoteDown();

  // A new layout for `t` (empty: the file system default) over the OSTs
  // registered now; component ids start at `first_id`. New files go to
  // OSTs that are up and have room; to full ones only when every OST is
  // full, and to down ones only when none is up. Errors: kNoSpace (no
  // OSTs), kInvalid (a bad template, an OST index that does not exist).
  Result<Layout> Allocate(const LayoutTemplate& t, uint32_t first_id = 0);

  // An OST with less room than 1% of its capacity or kFullBytes is full,
  // as Lustre's allocator avoids full OSTs.
  static constexpr uint64_t kFullBytes = 8ull << 20;
  static bool IsFull(const OstInfo& o);

 private:
  struct OstState {
    OstInfo info;
    std::string uuid;
    std::chrono::steady_clock::time_point last_seen{};
    bool down_logged = false;  // its going down has been logged
  };
  bool Up(const OstState& s, std::chrono::steady_clock::time_point now) const;
  std::vector<OstInfo> SnapshotLocked() const;

  const std::chrono::milliseconds timeout_;
  const Defaults defaults_;
  OstPool* const pool_;
  mutable std::mutex mu_;
  std::map<uint32_t, OstState> osts_;
  uint32_t rr_next_ = 0;  // where the next round-robin allocation starts
};

}  // namespace amlfs::mds
