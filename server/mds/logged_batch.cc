#include "server/mds/logged_batch.h"

namespace amlfs::mds {

LoggedBatch LoggedBatch::Of(const std::map<std::string, std::optional<std::string>>& changes) {
  LoggedBatch b;
  b.ops.reserve(changes.size());
  for (const auto& [key, value] : changes)
    b.ops.push_back(LoggedOp{key, value.has_value(), value.value_or(std::string())});
  return b;
}

std::string EncodeBatch(const LoggedBatch& b) {
  std::string out;
  Encoder(&out).Put(b.ops);  // version 1: the ops alone
  return out;
}

Status DecodeBatch(std::string_view in, LoggedBatch* b) {
  Decoder d(in);
  uint32_t head = 0;
  d.Get(head);
  if (!d.ok()) return Error(Code::kCorrupt, "metadata batch: truncated before its op count");
  if (head == LoggedBatch::kVersioned) {
    uint8_t version = 0;
    d.Get(version);
    if (!d.ok()) return Error(Code::kCorrupt, "metadata batch: truncated before its version");
    return Error(Code::kCorrupt, "metadata batch version " + std::to_string(version) +
                                     " is unknown (written by a newer MDS?); this one reads "
                                     "version 1");
  }
  Decoder v1(in);
  b->version = 1;
  v1.Get(b->ops);
  if (!v1.ok() || v1.remaining() != 0)
    return Error(Code::kCorrupt, "metadata batch (version 1) of " + std::to_string(in.size()) +
                                     " bytes is truncated or has trailing bytes");
  return Status::Ok();
}

}  // namespace amlfs::mds
