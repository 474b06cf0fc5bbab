#include "server/mds/open_table.h"

namespace amlfs::mds {

uint64_t OpenTable::Add(InodeId ino, ClientId client, bool writer) {
  std::lock_guard lk(mu_);
  const uint64_t handle = next_handle_++;
  handles_[handle] = Handle{ino.value(), client, writer};
  ++open_counts_[ino.value()];
  if (writer) {
    auto m = migrations_.find(ino.value());
    if (m != migrations_.end()) m->second.dirty = true;
  }
  return handle;
}

bool OpenTable::Drop(uint64_t handle) {
  std::lock_guard lk(mu_);
  auto h = handles_.find(handle);
  if (h == handles_.end()) return false;
  const uint64_t ino = h->second.ino;
  handles_.erase(h);
  auto c = open_counts_.find(ino);
  if (c != open_counts_.end() && --c->second == 0) open_counts_.erase(c);
  return open_counts_.count(ino) == 0;
}

bool OpenTable::IsOpen(InodeId ino) const {
  std::lock_guard lk(mu_);
  auto it = open_counts_.find(ino.value());
  return it != open_counts_.end() && it->second > 0;
}

bool OpenTable::OpenByOthers(InodeId ino, ClientId me, bool writers) const {
  std::lock_guard lk(mu_);
  for (const auto& [h, o] : handles_)
    if (o.ino == ino.value() && (!writers || o.writer) && (me.value() == 0 || o.client != me))
      return true;
  return false;
}

uint64_t OpenTable::BeginMigration(InodeId ino, Layout layout, uint64_t queue_seq) {
  std::lock_guard lk(mu_);
  const uint64_t token = next_migration_++;
  migrations_[ino.value()] = Migration{token, false, std::move(layout), queue_seq};
  return token;
}

void OpenTable::ForgetMigration(InodeId ino, uint64_t token) {
  std::lock_guard lk(mu_);
  auto it = migrations_.find(ino.value());
  if (it != migrations_.end() && it->second.token == token) migrations_.erase(it);
}

Result<OpenTable::Migration> OpenTable::EndMigration(InodeId ino, uint64_t token) {
  std::lock_guard lk(mu_);
  auto it = migrations_.find(ino.value());
  if (it == migrations_.end() || it->second.token != token)
    return Error(Code::kBusy, "the migration was superseded by another one");
  Migration m = std::move(it->second);
  migrations_.erase(it);
  return m;
}

std::optional<Layout> OpenTable::MigrationLayout(InodeId ino) const {
  std::lock_guard lk(mu_);
  auto it = migrations_.find(ino.value());
  if (it == migrations_.end()) return std::nullopt;
  return it->second.layout;
}

}  // namespace amlfs::mds
