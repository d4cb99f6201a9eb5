#include "udpbeat/engine/target_set.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/socket_budget.h"

namespace udpbeat::engine {

absl::StatusOr<std::unique_ptr<Target>> TargetSet::Make(const TargetSpec& spec, size_t index,
                                                        size_t count, bool twinned) {
  SessionGroupOptions o = options_;
  // Targets spread over one interval, as each target's sessions spread within it.
  if (o.session.interval && count > 1)
    o.stagger_base = *o.session.interval / static_cast<Nanos>(count) * static_cast<Nanos>(index);
  o.send_twins = twinned;
  return Target::Create(spec.info, spec.peer, o, detectors_, transport_, sockets_, observer_);
}

bool TargetSet::Twinned(size_t count) const {
  if (!options_.transmit_timestamps) return false;
  const uint64_t sockets = uint64_t{SocketsPerTarget(options_.sessions, options_.sockets)} * count;
  // Counted on the list being set up (a reload's whole new list): at most
  // kMaxTwinnedSockets twins exist beside those kept from before, themselves as many.
  return sockets <= kMaxTwinnedSockets && 2 * sockets <= sockets_.Budget();
}

absl::Status TargetSet::Create(const std::vector<TargetSpec>& specs) {
  const bool twinned = Twinned(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    UDPBEAT_ASSIGN_OR_RETURN(auto t, Make(specs[i], i, specs.size(), twinned));
    session_count_ += t->group().size();
    targets_.push_back(std::move(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReloadCounts> TargetSet::Reload(const std::vector<TargetSpec>& specs) {
  // Decided and set up before anything moves: when one new target cannot be set up, the
  // reload fails and the old set stays whole (order, labels and all).
  ReloadCounts counts;
  std::unordered_map<std::string, size_t> by_name;  // the first target of each name
  for (size_t k = 0; k < targets_.size(); ++k) by_name.emplace(targets_[k]->info().name, k);
  std::vector<bool> keep(targets_.size(), false);
  std::vector<size_t> kept_from(specs.size(), SIZE_MAX);  // spec -> the target it keeps
  for (size_t i = 0; i < specs.size(); ++i) {
    auto it = by_name.find(specs[i].info.name);
    if (it != by_name.end() && !keep[it->second] &&
        targets_[it->second]->peer() == specs[i].peer) {
      keep[it->second] = true;
      kept_from[i] = it->second;
      ++counts.kept;
    } else {
      ++counts.added;
    }
  }
  // What the reload adds is checked against the descriptors free now, before anything is
  // made: a run near its open-file limit refuses the reload with the figures, rather
  // than failing at the first socket that does not fit.
  const bool twinned = Twinned(specs.size());
  const uint64_t need = uint64_t{counts.added} *
                        SocketsPerTarget(options_.sessions, options_.sockets) * (twinned ? 2 : 1);
  if (need > 0) {
    const uint64_t free = sockets_.FreeDescriptors();
    if (need + kReservedFds > free) {
      // The targets a reload removes close only once the new ones are open (so that a
      // failure can leave the old set whole): their sockets do not count as free.
      const bool removes = counts.kept < targets_.size();
      return absl::ResourceExhaustedError(absl::StrCat(
          counts.added, counts.added == 1 ? " new target needs " : " new targets need ", need,
          " sockets and ", free, " descriptors are free (", kReservedFds, " kept in reserve",
          removes ? "; removed targets close only after the new ones open" : "",
          "); raise the open-file limit (ulimit -n)"));
    }
  }
  std::vector<std::unique_ptr<Target>> made(specs.size());  // spec -> its new target
  for (size_t i = 0; i < specs.size(); ++i) {
    if (kept_from[i] != SIZE_MAX) continue;
    UDPBEAT_ASSIGN_OR_RETURN(made[i], Make(specs[i], i, specs.size(), twinned));
  }
  std::vector<std::unique_ptr<Target>> next;
  std::vector<Target*> fresh;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (kept_from[i] != SIZE_MAX) {
      next.push_back(std::move(targets_[kept_from[i]]));
      next.back()->mutable_info().labels = specs[i].info.labels;
    } else {
      fresh.push_back(made[i].get());
      next.push_back(std::move(made[i]));
    }
  }
  // The removed go when this returns, after the new ones started.
  std::vector<std::unique_ptr<Target>> removed;
  for (size_t k = 0; k < targets_.size(); ++k)
    if (!keep[k]) removed.push_back(std::move(targets_[k]));
  counts.removed = removed.size();
  targets_ = std::move(next);
  session_count_ = 0;
  for (const auto& t : targets_) session_count_ += t->group().size();
  for (Target* t : fresh) t->Start();
  return counts;
}

void TargetSet::Start() {
  for (auto& t : targets_) t->Start();
}
void TargetSet::StopSending() {
  for (auto& t : targets_) t->StopSending();
}
void TargetSet::Finish() {
  for (auto& t : targets_) t->Finish();
}
void TargetSet::Tick() {
  for (auto& t : targets_) t->Tick();
}

bool TargetSet::AllDone() const {
  for (const auto& t : targets_)
    if (!t->done()) return false;
  return true;
}

size_t TargetSet::DownCount() const {
  size_t n = 0;
  for (const auto& t : targets_) n += t->state() == detect::State::kDown;
  return n;
}

bool TargetSet::AnyDown() const {
  for (const auto& t : targets_)
    if (t->state() == detect::State::kDown) return true;
  return false;
}

bool TargetSet::kernel_timestamps() const {
  for (const auto& t : targets_)
    if (!t->group().kernel_timestamps()) return false;
  return !targets_.empty();
}

measure::RunResult TargetSet::Result(const measure::RunInfo& info, measure::Detail detail,
                                     Nanos elapsed, bool sessions, bool paths,
                                     bool total) const {
  measure::RunResult r;
  r.info = info;
  r.elapsed = elapsed;
  const MonoTime now = transport_.clock().Now();
  r.targets.reserve(targets_.size());
  for (const auto& t : targets_) r.targets.push_back(t->Result(detail, now, paths));
  if (total) {
    if (targets_.size() == 1) {
      r.total = r.targets[0].figures;
    } else {
      // Every session at once: one-way references shift once, not twice.
      std::vector<const measure::Measurements*> parts;
      uint64_t drops = 0;
      for (const auto& t : targets_) {
        for (size_t i = 0; i < t->group().size(); ++i)
          parts.push_back(&t->group().session(i).measurements());
      }
      r.total = measure::Summarize(measure::Measurements::Combine(parts), detail);
      for (const measure::TargetResult& t : r.targets) drops += t.figures.local_drops;
      r.total.local_drops = drops;
    }
  }
  if (!targets_.empty() && targets_[0]->heartbeat()) {
    measure::HeartbeatFigures h;
    h.sessions = 0;
    for (const measure::TargetResult& t : r.targets) {
      h.state = std::max(h.state, t.heartbeat->state);
      h.outages += t.heartbeat->outages;
      h.state_changes += t.heartbeat->state_changes;
      h.time_down += t.heartbeat->time_down;
      h.sessions += t.heartbeat->sessions;
      h.sessions_down += t.heartbeat->sessions_down;
      h.targets_down += t.heartbeat->state == detect::State::kDown;
    }
    r.total_heartbeat = h;
  }
  if (sessions) {
    for (size_t k = 0; k < targets_.size(); ++k) {
      const Target* t = targets_[k].get();
      for (size_t i = 0; i < t->group().size(); ++i) {
        measure::SessionResult s;
        s.index = static_cast<uint32_t>(r.sessions.size());
        s.target = k;
        s.local_port = t->group().local_port(i);
        s.figures = measure::Summarize(t->group().session(i).measurements(), detail);
        r.sessions.push_back(std::move(s));
      }
    }
  }
  return r;
}

}  // namespace udpbeat::engine
