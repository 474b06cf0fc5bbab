#include "server/mds/observe.h"

#include <cstdio>

namespace amlfs::mds {
namespace {

std::string OstName(OstIndex i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "OST%04x", i.value());
  return buf;
}

}  // namespace

MdsObserver::MdsObserver(Mds* mds, std::function<MdsStatusRsp()> status)
    : mds_(mds), status_(std::move(status)) {
  metrics::Default().AddCollector([this](metrics::Writer& w) { Collect(w); });
}

MdsStatusRsp MdsObserver::Status() {
  if (status_) return status_();
  MdsStatusRsp s;
  s.role = "leader";
  s.serving = true;
  return s;
}

void MdsObserver::Collect(metrics::Writer& w) {
  const MdsStatusRsp s = Status();
  auto gauge = [&](const char* name, const char* help, double v) {
    w.Family(name, "gauge", help);
    w.Sample(name, v);
  };
  gauge("amlfs_mds_is_leader", "1 on the replica that leads (always 1 unreplicated).",
        s.role == "leader" ? 1 : 0);
  gauge("amlfs_mds_serving", "1 when this replica answers clients.", s.serving ? 1 : 0);
  gauge("amlfs_mds_leader_known", "1 when this replica knows a leader.",
        !s.replicated || s.leader != 0 ? 1 : 0);
  gauge("amlfs_mds_raft_term", "Current Raft term.", static_cast<double>(s.term));
  gauge("amlfs_mds_raft_commit_index", "Highest committed Raft log index.",
        static_cast<double>(s.commit));
  gauge("amlfs_mds_raft_applied_index", "Highest applied Raft log index.",
        static_cast<double>(s.applied));
  gauge("amlfs_mds_raft_members", "Replicas in the configuration.",
        static_cast<double>(s.replicated ? s.members.size() : 1));
  // The namespace counts as this replica's database holds them; the OST
  // table only where the OSTs' heartbeats arrive.
  if (auto fs = mds_->StatFs(StatFsReq{}); fs.ok())
    gauge("amlfs_mds_inodes", "Inodes in the namespace.",
          static_cast<double>(fs->total_inodes - fs->free_inodes));
  if (!s.serving) return;
  auto map = mds_->OstMap(OstMapReq{});
  if (!map.ok()) return;
  uint32_t up = 0;
  for (const auto& o : map->osts) up += o.up ? 1 : 0;
  w.Family("amlfs_mds_osts", "gauge", "OSTs registered, by state.");
  w.Sample("amlfs_mds_osts", {{"state", "up"}}, up);
  w.Sample("amlfs_mds_osts", {{"state", "down"}}, static_cast<double>(map->osts.size() - up));
  const std::pair<const char*, const char*> families[] = {
      {"amlfs_mds_ost_up", "1 while the OST heartbeats."},
      {"amlfs_mds_ost_capacity_bytes", "The OST's capacity, as it last reported."},
      {"amlfs_mds_ost_free_bytes", "The OST's free bytes, as it last reported."}};
  for (size_t f = 0; f < 3; ++f) {
    w.Family(families[f].first, "gauge", families[f].second);
    for (const auto& o : map->osts) {
      const double v = f == 0   ? (o.up ? 1 : 0)
                       : f == 1 ? static_cast<double>(o.capacity_bytes)
                                : static_cast<double>(o.free_bytes);
      w.Sample(families[f].first, {{"ost", OstName(o.index)}}, v);
    }
  }
}

std::vector<HealthCheck> MdsObserver::Health() {
  using State = HealthCheck::State;
  std::vector<HealthCheck> checks;
  const MdsStatusRsp s = Status();
  const std::string term = " (term " + std::to_string(s.term) + ")";
  if (!s.replicated) {
    checks.push_back({State::kOk, "mds: serving, not replicated"});
  } else if (s.serving) {
    checks.push_back({State::kOk, "raft: replica " + std::to_string(s.id) + " leads" + term});
  } else if (s.leader != 0 && s.leader != s.id) {
    checks.push_back({State::kOk, "raft: replica " + std::to_string(s.id) + " follows replica " +
                                      std::to_string(s.leader) + term + ", applied " +
                                      std::to_string(s.applied) + " of " +
                                      std::to_string(s.commit)});
  } else {
    checks.push_back({State::kFail, "raft: replica " + std::to_string(s.id) + " is " + s.role +
                                        " and knows no serving leader" + term});
  }
  if (!s.serving) return checks;
  auto map = mds_->OstMap(OstMapReq{});
  if (!map.ok()) return checks;
  uint32_t up = 0;
  for (const auto& o : map->osts) {
    if (o.up)
      ++up;
    else
      checks.push_back(
          {State::kWarn, OstName(o.index) + " down (no heartbeat from " + o.address + ")"});
  }
  checks.push_back(
      {up > 0 || map->osts.empty() ? State::kOk : State::kWarn,
       "osts: " + std::to_string(up) + " of " + std::to_string(map->osts.size()) + " up"});
  return checks;
}

}  // namespace amlfs::mds
