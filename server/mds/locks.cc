#include "server/mds/locks.h"

#include <algorithm>

namespace amlfs::mds {
namespace {

bool SameOwner(const LockSpec& a, const LockSpec& b) {
  return a.client == b.client && a.owner == b.owner && a.flock == b.flock;
}
bool Overlap(const LockSpec& a, const LockSpec& b) { return a.start <= b.end && b.start <= a.end; }
bool Conflicts(const LockSpec& held, const LockSpec& want) {
  if (want.type == kLockUnlock || held.flock != want.flock || SameOwner(held, want)) return false;
  if (!Overlap(held, want)) return false;
  return held.type == kLockWrite || want.type == kLockWrite;
}

}  // namespace

const LockSpec* LockTable::ConflictLocked(const File& f, const LockSpec& want) const {
  for (const auto& l : f.locks)
    if (Conflicts(l, want)) return &l;
  return nullptr;
}

// The owner's locks over [start, end] are replaced by `want` (nothing, for
// an unlock); pieces outside the range stay; adjacent or overlapping locks
// of the same owner and type merge, as the kernel keeps them.
void LockTable::ApplyLocked(File& f, const LockSpec& want) {
  std::vector<LockSpec> out;
  out.reserve(f.locks.size() + 2);
  for (const auto& l : f.locks) {
    if (!SameOwner(l, want) || !Overlap(l, want)) {
      out.push_back(l);
      continue;
    }
    if (l.start < want.start) {
      LockSpec left = l;
      left.end = want.start - 1;
      out.push_back(left);
    }
    if (l.end > want.end) {
      LockSpec right = l;
      right.start = want.end + 1;
      out.push_back(right);
    }
  }
  if (want.type != kLockUnlock) {
    LockSpec n = want;
    n.wait = false;
    // Merge with touching locks of the same owner and type.
    for (auto it = out.begin(); it != out.end();) {
      bool touches = SameOwner(*it, n) && it->type == n.type &&
                     (it->end == kLockEof || it->end + 1 >= n.start) &&
                     (n.end == kLockEof || n.end + 1 >= it->start);
      if (touches) {
        n.start = std::min(n.start, it->start);
        n.end = std::max(n.end, it->end);
        it = out.erase(it);
      } else {
        ++it;
      }
    }
    out.push_back(n);
  }
  f.locks = std::move(out);
}

void LockTable::WakeLocked(File& f, Fired* fired) {
  // One pass in arrival order: a granted waiter may block later ones.
  for (auto it = f.waiters.begin(); it != f.waiters.end();) {
    if (ConflictLocked(f, it->want)) {
      ++it;
      continue;
    }
    ApplyLocked(f, it->want);
    fired->emplace_back(std::move(it->done), Status::Ok());
    it = f.waiters.erase(it);
  }
}

void LockTable::Fire(Fired& fired) {
  for (auto& [done, st] : fired)
    if (done) done(st);
}

std::optional<LockSpec> LockTable::Test(uint64_t ino, const LockSpec& want) {
  std::lock_guard lk(mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return std::nullopt;
  const LockSpec* c = ConflictLocked(it->second, want);
  if (!c) return std::nullopt;
  return *c;
}

void LockTable::Set(uint64_t ino, const LockSpec& want, Done done) {
  Fired fired;
  {
    std::lock_guard lk(mu_);
    if (want.start > want.end) {
      fired.emplace_back(std::move(done),
                         Error(Code::kInvalid, "lock range ends before it starts"));
    } else {
      leases_.try_emplace(want.client, Clock::now());
      File& f = files_[ino];
      if (!ConflictLocked(f, want)) {
        ApplyLocked(f, want);
        fired.emplace_back(std::move(done), Status::Ok());
        // An unlock or a downgrade frees waiters; so does replacing a larger
        // lock of ours with a smaller one.
        WakeLocked(f, &fired);
      } else if (!want.wait) {
        fired.emplace_back(std::move(done), Error(Code::kWouldBlock, "lock held by another owner"));
      } else {
        f.waiters.push_back(Waiter{want, std::move(done)});
      }
      if (f.locks.empty() && f.waiters.empty()) files_.erase(ino);
    }
  }
  Fire(fired);
}

void LockTable::Cancel(uint64_t ino, ClientId client, uint64_t owner) {
  Fired fired;
  {
    std::lock_guard lk(mu_);
    auto it = files_.find(ino);
    if (it == files_.end()) return;
    auto& ws = it->second.waiters;
    for (auto w = ws.begin(); w != ws.end();) {
      if (w->want.client == client && w->want.owner == owner) {
        fired.emplace_back(std::move(w->done), Error(Code::kInterrupted, "lock request cancelled"));
        w = ws.erase(w);
      } else {
        ++w;
      }
    }
    if (it->second.locks.empty() && ws.empty()) files_.erase(it);
  }
  Fire(fired);
}

void LockTable::ReleaseOwner(uint64_t ino, ClientId client, uint64_t owner, bool flock) {
  LockSpec all;
  all.client = client;
  all.owner = owner;
  all.flock = flock;
  all.type = kLockUnlock;
  Set(ino, all, nullptr);
}

void LockTable::Renew(ClientId client, Clock::time_point now) {
  std::lock_guard lk(mu_);
  leases_[client] = now;
}

void LockTable::DropClientsLocked(const std::vector<ClientId>& gone, Fired* fired) {
  auto is_gone = [&](ClientId c) { return std::find(gone.begin(), gone.end(), c) != gone.end(); };
  for (auto it = files_.begin(); it != files_.end();) {
    File& f = it->second;
    std::erase_if(f.locks, [&](const LockSpec& l) { return is_gone(l.client); });
    for (auto w = f.waiters.begin(); w != f.waiters.end();) {
      if (is_gone(w->want.client)) {
        fired->emplace_back(std::move(w->done), Error(Code::kUnavailable, "lock lease ended"));
        w = f.waiters.erase(w);
      } else {
        ++w;
      }
    }
    WakeLocked(f, fired);
    if (f.locks.empty() && f.waiters.empty())
      it = files_.erase(it);
    else
      ++it;
  }
  for (ClientId c : gone) leases_.erase(c);
}

size_t LockTable::Expire(Clock::time_point before) {
  Fired fired;
  size_t n;
  {
    std::lock_guard lk(mu_);
    std::vector<ClientId> gone;
    for (const auto& [c, t] : leases_)
      if (t < before) gone.push_back(c);
    n = gone.size();
    if (!gone.empty()) DropClientsLocked(gone, &fired);
  }
  Fire(fired);
  return n;
}

void LockTable::DropClient(ClientId client) {
  Fired fired;
  {
    std::lock_guard lk(mu_);
    DropClientsLocked({client}, &fired);
  }
  Fire(fired);
}

std::vector<LockSpec> LockTable::Held(uint64_t ino) {
  std::lock_guard lk(mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return {};
  auto v = it->second.locks;
  std::sort(v.begin(), v.end(),
            [](const LockSpec& a, const LockSpec& b) { return a.start < b.start; });
  return v;
}

}  // namespace amlfs::mds
