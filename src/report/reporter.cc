#include "udpbeat/report/reporter.h"

#include <ostream>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/reported_status.h"

namespace udpbeat::report {

std::string UnresolvedLine(const measure::UnresolvedTarget& u) {
  return absl::StrCat(u.file, ":", u.line, ": ", u.error);
}

void RunReporter::NothingToReload() {
  err_ << "udpbeat: SIGHUP: no targets file to read again" << std::endl;
}

void RunReporter::ReloadRefused(const absl::Status& why) {
  err_ << "udpbeat: reload: " << why.message() << " (targets unchanged)" << std::endl;
}

void RunReporter::ReloadUnresolved(const measure::UnresolvedTarget& u, WallTime when) {
  // Each name left out, every time: the journal says which and why.
  err_ << "udpbeat: " << UnresolvedLine(u) << std::endl;
  Unresolved(u, when);
}

absl::Status RunReporter::MetricsFileFailed(absl::Status why) {
  if (!metrics_file_failed_) err_ << "udpbeat: " << why.message() << std::endl;
  metrics_file_failed_ = true;
  return MarkReported(std::move(why));
}

void RunReporter::Unanswered(const measure::TargetResult& t, bool stamp_port) {
  const measure::Figures& f = t.figures;
  if (f.received > 0) return;
  if (f.unreachable > 0) {
    err_ << "udpbeat: " << t.info.name << ": port unreachable: nothing is listening"
         << (stamp_port ? " (STAMP's port is 862; udpbeat serve listens on 12000 unless told "
                          "otherwise)"
                        : "")
         << std::endl;
  } else if (f.send_errors > 0 && f.sent == 0) {
    // Nothing ever left this host: say so, or an exit status of 1 reads as a dead peer.
    err_ << "udpbeat: " << t.info.name << ": every send failed (" << f.send_errors
         << (f.send_errors == 1 ? " probe" : " probes") << "): nothing left this host"
         << std::endl;
  }
}

}  // namespace udpbeat::report
