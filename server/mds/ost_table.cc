#include "server/mds/ost_table.h"

#include <algorithm>

#include "common/client/ost_pool.h"
#include "common/log.h"

namespace amlfs::mds {

void OstTable::Load(const std::map<uint32_t, OstRec>& recorded) {
  std::lock_guard lk(mu_);
  osts_.clear();
  for (const auto& [index, rec] : recorded) {
    OstState s;
    s.info.index = OstIndex(index);
    s.info.address = rec.address;
    s.uuid = rec.uuid;
    osts_[index] = s;
  }
  if (pool_) pool_->Update(SnapshotLocked());
}

bool OstTable::Up(const OstState& s, std::chrono::steady_clock::time_point now) const {
  return s.last_seen.time_since_epoch().count() != 0 && now - s.last_seen < timeout_;
}

Status OstTable::Register(const OstRegisterReq& r, bool* persist) {
  std::lock_guard lk(mu_);
  auto it = osts_.find(r.index.value());
  if (it != osts_.end() && !it->second.uuid.empty() && it->second.uuid != r.ost_uuid)
    return Error(Code::kExists, "OST index " + std::to_string(r.index.value()) +
                                    " belongs to another data directory");
  const auto now = std::chrono::steady_clock::now();
  OstState& s = osts_[r.index.value()];
  *persist = s.info.address != r.address || s.uuid != r.ost_uuid;
  const bool was_up = Up(s, now);
  s.info.index = r.index;
  s.info.address = r.address;
  s.info.capacity_bytes = r.capacity_bytes;
  s.info.free_bytes = r.free_bytes;
  s.info.avail_bytes = r.avail_bytes;
  s.info.total_inodes = r.total_inodes;
  s.info.free_inodes = r.free_inodes;
  s.uuid = r.ost_uuid;
  s.last_seen = now;
  s.down_logged = false;
  if (!was_up) AMLFS_LOG(kInfo) << "OST" << r.index.value() << " up at " << r.address;
  if (pool_) pool_->Update(SnapshotLocked());
  return Status::Ok();
}

std::vector<OstInfo> OstTable::Snapshot() const {
  std::lock_guard lk(mu_);
  return SnapshotLocked();
}

std::vector<OstInfo> OstTable::SnapshotLocked() const {
  std::vector<OstInfo> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [i, s] : osts_) {
    OstInfo info = s.info;
    info.up = Up(s, now);
    out.push_back(info);
  }
  return out;
}

void OstTable::NoteDown() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  for (auto& [index, s] : osts_) {
    if (s.down_logged || s.last_seen.time_since_epoch().count() == 0 || Up(s, now)) continue;
    s.down_logged = true;
    AMLFS_LOG(kWarn) << "OST" << index << " down: no heartbeat from " << s.info.address << " for "
                     << std::chrono::duration_cast<std::chrono::seconds>(now - s.last_seen).count()
                     << " s";
  }
}

bool OstTable::IsFull(const OstInfo& o) {
  if (o.capacity_bytes == 0) return false;  // not reported yet
  return o.avail_bytes < std::max<uint64_t>(o.capacity_bytes / 100, kFullBytes);
}

Result<Layout> OstTable::Allocate(const LayoutTemplate& requested, uint32_t first_id) {
  LayoutTemplate t = requested;
  AMLFS_RETURN_IF_ERROR(ValidateTemplate(t));
  if (t.IsDefault()) t = LayoutTemplate::Plain(0, 0);
  std::lock_guard lk(mu_);
  std::vector<OstInfo> all = SnapshotLocked();
  if (all.empty()) return Error(Code::kNoSpace, "no OSTs registered");
  std::vector<OstInfo> up, roomy;
  for (auto& o : all) {
    if (!o.up) continue;
    up.push_back(o);
    if (!IsFull(o)) roomy.push_back(o);
  }
  const std::vector<OstInfo>& any = up.empty() ? all : up;
  auto exists = [&](uint32_t idx) {
    return std::any_of(all.begin(), all.end(),
                       [&](const OstInfo& o) { return o.index.value() == idx; });
  };
  Layout l;
  uint64_t start = 0;
  for (size_t ci = 0; ci < t.comps.size(); ++ci) {
    const ComponentTemplate& ct = t.comps[ci];
    LayoutComponent c;
    c.start = start;
    c.end = ct.end;
    c.id = first_id + static_cast<uint32_t>(ci);
    c.stripe_size = ct.stripe_size ? ct.stripe_size : defaults_.stripe_size;
    if (ct.on_mdt()) {
      if (defaults_.dom_max == 0)
        return Error(Code::kInvalid, "Data-on-MDT is off on this file system (--dom-stripesize 0)");
      c.end = std::min(c.end, defaults_.dom_max);
      c.stripe_size = c.end;  // one object, on the MDS
      c.osts = {kMdtTarget};
      start = c.end;
      l.comps.push_back(std::move(c));
      continue;
    }
    if (!ct.osts.empty()) {
      for (OstIndex o : ct.osts)
        if (!exists(o.value()))
          return Error(Code::kInvalid,
                       "OST index " + std::to_string(o.value()) + " does not exist");
      c.osts = ct.osts;
    } else {
      // An OST asked for by index is used full or not.
      const std::vector<OstInfo>& cand = ct.stripe_offset >= 0 || roomy.empty() ? any : roomy;
      const size_t n = cand.size();
      int32_t want = ct.stripe_count ? ct.stripe_count : defaults_.stripe_count;
      size_t count = want < 0 ? n : std::min<size_t>(static_cast<size_t>(want), n);
      if (count == 0) count = 1;
      size_t first = rr_next_++ % n;
      if (ct.stripe_offset >= 0) {
        if (!exists(static_cast<uint32_t>(ct.stripe_offset)))
          return Error(Code::kInvalid,
                       "OST index " + std::to_string(ct.stripe_offset) + " does not exist");
        for (size_t i = 0; i < n; ++i)
          if (cand[i].index.value() == static_cast<uint32_t>(ct.stripe_offset)) first = i;
      }
      for (size_t i = 0; i < count; ++i) c.osts.push_back(cand[(first + i) % n].index);
    }
    if (c.end != kLayoutEof && c.end % c.stripe_size != 0)
      return Error(Code::kInvalid, "component end " + std::to_string(c.end) +
                                       " is not a multiple of its stripe size " +
                                       std::to_string(c.stripe_size));
    start = c.end;
    l.comps.push_back(std::move(c));
  }
  AMLFS_RETURN_IF_ERROR(ValidateLayout(l));
  return l;
}

}  // namespace amlfs::mds
