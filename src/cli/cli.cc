#include "udpbeat/cli/cli.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/exit_code.h"
#include "udpbeat/base/fd_output.h"
#include "udpbeat/base/reported_status.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/cli/number_arg.h"
#include "udpbeat/cli/suggest.h"
#include "udpbeat/engine/socket_budget.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/modes/heartbeat.h"
#include "udpbeat/modes/ping.h"
#include "udpbeat/modes/serve.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/proto/auth_key.h"
#include "udpbeat/targets/targets_file.h"
#include "udpbeat/time/duration_parse.h"

namespace udpbeat {
namespace {

constexpr const char* kName = "udpbeat";

// The ranges of the command line's numbers and durations, stated in --help and the man
// pages. Durations stop at a day or an hour: longer is a typo, and far from where the
// nanosecond clocks wrap.
constexpr uint64_t kMaxCount = std::numeric_limits<int32_t>::max();
constexpr uint64_t kMaxSessions = 100'000;
constexpr uint64_t kMaxMisses = 1000;
constexpr uint64_t kMaxPeers = 1 << 24;
constexpr double kMinRate = 0.001;
constexpr double kMaxRate = 1e9;  // one probe a nanosecond
constexpr double kMinPhi = 0.1;
constexpr double kMaxPhi = 100;
constexpr Nanos kHour = 3600 * kNanosPerSecond;
constexpr Nanos kDay = 24 * kHour;
constexpr Nanos kMaxInterval = kDay;
constexpr Nanos kMinTimeout = kNanosPerMicro;
constexpr Nanos kMaxTimeout = kHour;
constexpr Nanos kMinDuration = kNanosPerMilli;
constexpr Nanos kMaxDuration = 365 * kDay;
constexpr Nanos kMaxPhiPause = kHour;
constexpr Nanos kMinMetricsInterval = 10 * kNanosPerMilli;
constexpr Nanos kMaxMetricsInterval = kDay;
constexpr Nanos kMaxServeDelay = kHour;
constexpr int kMaxTos = 255;
constexpr int kMaxDscp = 63;

int Fail(std::string_view message) {
  std::cerr << kName << ": " << message << std::endl;
  return kExitError;
}

int Fail(const absl::Status& status) {
  if (IsReported(status)) return kExitError;  // its line is on stderr already
  return Fail(std::string(status.message()));
}

absl::Status Usage(std::string_view flag, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(flag), ": ", message));
}

// Blocks the signals the event loop reads through its signalfd before anything else
// runs, so no thread ever takes their default action.
void BlockLoopSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGQUIT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
}

// A standard descriptor the caller left closed would go to the first file this process
// opens (the io_uring ring, a socket), and "standard output" would be written into it.
// Each is held on /dev/null, read-only so that writing to it still fails (EBADF) as on a
// closed descriptor, and the run still ends with its one error line.
void HoldStandardDescriptors() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free descriptor: `fd`, the ones below it being open by now.
    if (::open("/dev/null", O_RDONLY | O_CLOEXEC) != fd) return;
  }
}

bool IsRoot() { return ::geteuid() == 0; }

// CPUs this process may run on (its affinity mask: a container's or taskset's share).


// Validators that let a number through only when its text is exactly a number in range,
// so CLI11's conversion afterwards cannot fail or wrap, and the message gives the range.
// Used with ->transform, not ->check: the text CLI11 converts is rewritten to the
// number read here, because CLI11 converts integers with strtoull(..., 0), which takes
// "010" as octal 8 where this check read ten.
template <auto Parse>
CLI::Validator WholeWith(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [=](std::string& v) {
        auto n = Parse(v, min, max);
        if (!n.ok()) return std::string(n.status().message());
        v = absl::StrCat(*n);
        return std::string();
      },
      "", "");
}

CLI::Validator WholeIn(uint64_t min, uint64_t max) { return WholeWith<&ParseWholeArg>(min, max); }

// WholeIn, also taking "0x" hex (a TOS or DSCP byte).
CLI::Validator WholeOrHexIn(uint64_t min, uint64_t max) {
  return WholeWith<&ParseWholeOrHexArg>(min, max);
}

CLI::Validator RealIn(double min, double max) {
  return CLI::Validator(
      [=](std::string& v) {
        auto x = ParseRealArg(v, min, max);
        return x.ok() ? std::string() : std::string(x.status().message());
      },
      "", "");
}

// Duration options are taken as text and parsed by ParseDurationArg (250ms, 1.5s, 2)
// within the option's range.
struct DurationArg {
  // No argument holds a NUL: this default says "not given", so that an empty value given
  // on the command line ("-i ''") is refused like any other bad duration, not taken for
  // an option left out.
  static constexpr std::string_view kUnset{"\0", 1};
  std::string text{kUnset};
  bool set() const { return text != kUnset; }
};

absl::Status ParseDurationInto(const DurationArg& arg, std::string_view flag, Nanos min,
                               Nanos max, Nanos* out) {
  if (!arg.set()) return absl::OkStatus();
  auto d = ParseDurationArg(arg.text, min, max);
  if (!d.ok()) return Usage(flag, d.status().message());
  *out = *d;
  return absl::OkStatus();
}

// ping(8)'s rule: users other than root may not send more often than every 2 ms.
absl::Status CheckUserInterval(std::string_view flag, Nanos interval) {
  if (interval <= 0 || interval >= ClientOptions::kMinUserInterval || IsRoot())
    return absl::OkStatus();
  return Usage(flag, absl::StrCat(FormatDuration(interval), " is below ",
                                  FormatDuration(ClientOptions::kMinUserInterval),
                                  ", the shortest interval allowed to users other than root "
                                  "(as with ping(8))"));
}

// A numeric ADDR:PORT (or :PORT, every address) for a listening endpoint that needs its
// port (1..65535).
absl::Status CheckListenAddress(std::string_view flag, const std::string& text) {
  // ADDR:PORT, or :PORT for every address.
  auto a = http::ParseListenAddress(text);
  if (!a.ok()) return Usage(flag, a.status().message());
  if (a->port() == 0) {
    // The port is written when it follows "]:" or the one ':' of an IPv4 address.
    const bool no_port = text.front() == '['
                             ? text.find("]:") == std::string::npos
                             : std::count(text.begin(), text.end(), ':') != 1;
    return Usage(flag, no_port ? absl::StrCat("'", text,
                                              "' has no port: give ADDR:PORT, the port 1 to 65535 "
                                              "(e.g. 127.0.0.1:9101 or [::1]:9101)")
                               : absl::StrCat("'", text,
                                              "': port 0 is out of range: give 1 to 65535"));
  }
  return absl::OkStatus();
}

absl::Status CheckAuthKey(std::string_view flag, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  if (auto key = LoadAuthKey(path); !key.ok()) return Usage(flag, key.status().message());
  return absl::OkStatus();
}

// -------------------------------------------------------------------------------- serve

struct ServeArgs {
  ServeOptions opts;
  std::string reply = "auto";
  DurationArg delay, jitter, metrics_interval;
  uint64_t seed = 0;
};

CLI::App* AddServe(CLI::App& app, ServeArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "serve", "UDP responder: lab echo and heartbeat replies, STAMP session-reflector");
  sub->add_option("-b,--bind", a.opts.bind, "Address and port to listen on ([::]:PORT for IPv6)")
      ->capture_default_str()
      ->type_name("ADDR:PORT");
  sub->add_option("-r,--reply", a.reply, "Reply mode: auto, echo, heartbeat or stamp")
      ->capture_default_str()
      ->type_name("MODE");
  sub->add_option("--loss", a.opts.worker.loss,
                  "Drop each valid request with probability P, 0 to 1 (the lab: 0.364)")
      ->check(RealIn(0, 1))
      ->type_name("P");
  sub->add_option("--seed", a.seed, "Seed of the loss and jitter random generator (0 to 2^64-1)")
      ->transform(WholeIn(0, std::numeric_limits<uint64_t>::max()))
      ->type_name("N");
  sub->add_option("--delay", a.delay.text, "Delay every reply by D, 0 to 1h (e.g. 50ms)")
      ->type_name("D");
  sub->add_option("--jitter", a.jitter.text, "Vary the reply delay uniformly by +-D, 0 to 1h")
      ->type_name("D");
  sub->add_flag("--stamp-stateful", a.opts.worker.stamp_stateful,
                "STAMP: number replies per session so senders see forward and backward loss");
  sub->add_option("--auth-key", a.opts.auth_key_file,
                  "STAMP authenticated mode (reply auto or stamp): HMAC key in FILE; "
                  "answer only verified packets")
      ->type_name("FILE");
  sub->add_option("--max-peers", a.opts.worker.max_peers,
                  absl::StrCat("Remember at most N peers (STAMP sessions), 1 to ", kMaxPeers,
                               "; the least recent are evicted"))
      ->capture_default_str()
      ->transform(WholeIn(1, kMaxPeers))
      ->type_name("N");
  sub->add_option("--max-rate", a.opts.worker.max_rate,
                  "Answer at most PPS requests per second from each source, 0 (no limit) to "
                  "1000000000")
      ->capture_default_str()
      ->check(RealIn(0, kMaxRate))
      ->type_name("PPS");
  sub->add_option("--max-delay-bytes", a.opts.worker.max_delay_bytes,
                  absl::StrCat("Hold at most N bytes of delayed replies, ",
                               engine::ServeWorkerConfig::kMinDelayBytes, " to ",
                               engine::ServeWorkerConfig::kMaxDelayBytes,
                               "; beyond, replies are dropped"))
      ->capture_default_str()
      ->transform(WholeIn(engine::ServeWorkerConfig::kMinDelayBytes,
                      engine::ServeWorkerConfig::kMaxDelayBytes))
      ->type_name("N");
  sub->add_option("--threads", a.opts.threads,
                  absl::StrCat("Serve with N threads, 1 to ", MaxServeThreads(),
                               " here (4 per CPU), each its own event loop and socket"))
      ->capture_default_str()
      ->transform(WholeIn(1, static_cast<uint64_t>(MaxServeThreads())))
      ->type_name("N");
  sub->add_option("--metrics-file", a.opts.metrics_file,
                  "Write Prometheus metrics to PATH (replaced atomically)")
      ->type_name("PATH");
  sub->add_option("--metrics-interval", a.metrics_interval.text,
                  "Rewrite the metrics file every D, 10ms to 24h")
      ->default_str("5s")
      ->type_name("D");
  sub->add_option("--metrics-listen", a.opts.metrics_listen,
                  "Serve Prometheus metrics at http://ADDR:PORT/metrics (numeric address; :PORT: "
                  "every address, IPv6 and IPv4)")
      ->type_name("ADDR:PORT");
  sub->add_flag("-q,--quiet", a.opts.quiet, "Print nothing but errors");
  return sub;
}

absl::Status FinishServe(ServeArgs& a, CLI::App* sub) {
  auto mode = ParseReplyMode(a.reply);
  if (!mode.ok()) return Usage("--reply", mode.status().message());
  a.opts.worker.reply = *mode;
  if (sub->count("--seed") > 0) a.opts.worker.rng_seed = a.seed;
  UDPBEAT_RETURN_IF_ERROR(ParseDurationInto(a.delay, "--delay", 0, kMaxServeDelay,
                                            &a.opts.worker.delay));
  UDPBEAT_RETURN_IF_ERROR(ParseDurationInto(a.jitter, "--jitter", 0, kMaxServeDelay,
                                            &a.opts.worker.jitter));
  UDPBEAT_RETURN_IF_ERROR(ParseDurationInto(a.metrics_interval, "--metrics-interval",
                                            kMinMetricsInterval, kMaxMetricsInterval,
                                            &a.opts.metrics_period));
  if (!a.opts.metrics_listen.empty())
    UDPBEAT_RETURN_IF_ERROR(CheckListenAddress("--metrics-listen", a.opts.metrics_listen));
  // A key that no reply could honour would leave the operator believing that only
  // holders of the key are answered.
  if (!a.opts.auth_key_file.empty() && !TakesAuthKey(*mode))
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-key and --reply ", AbslView(ReplyModeName(*mode)),
                     " exclude each other: authenticated mode answers only STAMP "
                     "(--reply auto or stamp)"));
  UDPBEAT_RETURN_IF_ERROR(CheckAuthKey("--auth-key", a.opts.auth_key_file));
  return absl::OkStatus();
}

// ----------------------------------------------------------------- ping and heartbeat

// The options ping and heartbeat share, and their text forms.
struct ClientArgs {
  std::vector<std::string> targets;
  std::string proto = "stamp";
  bool v4 = false, v6 = false;
  int dscp = -1;
  DurationArg metrics_interval;
};

void AddClientOptions(CLI::App* sub, ClientOptions& o, ClientArgs& a, const char* quiet_help) {
  sub->add_option("--targets", o.targets_file,
                  "Also watch the targets in FILE: HOST[:PORT] [key=value ...] per line")
      ->type_name("FILE");
  sub->add_option("--proto", a.proto,
                  "Protocol: stamp (RFC 8762) or seed (the lab's text protocol)")
      ->capture_default_str()
      ->type_name("PROTO");
  sub->add_option("-s,--size", o.size,
                  absl::StrCat("Pad each request to SIZE bytes, 0 to ", ClientOptions::kMaxSize))
      ->transform(WholeIn(0, ClientOptions::kMaxSize))
      ->type_name("SIZE");
  sub->add_flag("-q,--quiet", o.quiet, quiet_help);
  sub->add_flag("-D", o.unix_times, "Start each line with the Unix time, as ping -D");
  sub->add_flag("--json", o.json, "JSON Lines on stdout: one object per event and a summary");
  sub->add_option("--sessions", o.sessions,
                  absl::StrCat("Run N concurrent sessions per target, 1 to ", kMaxSessions,
                               ", each its own socket and source port"))
      ->capture_default_str()
      ->transform(WholeIn(1, kMaxSessions))
      ->type_name("N");
  sub->add_option("--sockets", o.sockets,
                  absl::StrCat("Share M sockets among the sessions, 1 to ", kMaxSessions,
                               " (default: one per session)"))
      ->transform(WholeIn(1, kMaxSessions))
      ->type_name("M");
  sub->add_option("--src-ports", o.src_ports,
                  absl::StrCat("Probe each target from N source ports, 1 to ",
                               ClientOptions::kMaxSrcPorts, " (ECMP paths)"))
      ->transform(WholeIn(1, ClientOptions::kMaxSrcPorts))
      ->type_name("N");
  sub->add_option("--tos", o.tos,
                  "Mark probes with IP TOS / IPv6 traffic class N, 0 to 255 or 0x0 to 0xff")
      ->transform(WholeOrHexIn(0, kMaxTos))
      ->type_name("N");
  sub->add_option("--dscp", a.dscp, "Mark probes with DSCP N, 0 to 63 or 0x0 to 0x3f (TOS N*4)")
      ->transform(WholeOrHexIn(0, kMaxDscp))
      ->type_name("N");
  sub->add_option("-I,--source", o.source, "Send from the numeric address ADDR")
      ->type_name("ADDR");
  sub->add_option("--auth-key", o.auth_key_file,
                  "STAMP authenticated mode: HMAC key in FILE")
      ->type_name("FILE");
  sub->add_flag("--follow-up", o.follow_up,
                "STAMP: ask for RFC 8972 Follow-Up Telemetry (the reflector's send time)");
  sub->add_option("--metrics-file", o.metrics_file,
                  "Write Prometheus metrics to PATH (replaced atomically)")
      ->type_name("PATH");
  sub->add_option("--metrics-interval", a.metrics_interval.text,
                  "Rewrite the metrics file every D, 10ms to 24h")
      ->default_str("5s")
      ->type_name("D");
  sub->add_option("--plot", o.plot_file,
                  "Write an SVG of RTT over time (timeouts marked) and its distribution")
      ->type_name("FILE");
  sub->add_flag("-4", a.v4, "Use IPv4 only");
  sub->add_flag("-6", a.v6, "Use IPv6 only");
}

void AddTargets(CLI::App* sub, ClientArgs& a, const char* what) {
  sub->add_option("targets", a.targets,
                  absl::StrCat(what, " (default port: 862 for stamp, 12000 for seed)"))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("HOST[:PORT]");
}

int AddressFamilyOf(std::string_view host) {
  in6_addr buf;
  const std::string h(host);
  if (::inet_pton(AF_INET, h.c_str(), &buf) == 1) return AF_INET;
  if (::inet_pton(AF_INET6, h.c_str(), &buf) == 1) return AF_INET6;
  return AF_UNSPEC;
}

std::string FamilyName(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

// -I: a numeric address (IPv6 with or without brackets), no port; its family must be
// the one -4/-6 asks for and every numeric target's. Host-name targets then resolve to
// that family only.
absl::Status FinishSource(ClientOptions& o, const std::vector<TargetLine>& targets) {
  if (o.source.empty()) return absl::OkStatus();
  std::string host = o.source;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const int family = AddressFamilyOf(host);
  if (family == AF_UNSPEC)
    return Usage("--source",
                 absl::StrCat("'", o.source,
                              "' is not a numeric IPv4 or IPv6 address (without a port)"));
  const AddressFamily want = family == AF_INET ? AddressFamily::kIpv4 : AddressFamily::kIpv6;
  if (o.family != AddressFamily::kAny && o.family != want)
    return Usage("--source", absl::StrCat(o.source, " is ", FamilyName(family), " but ",
                                          o.family == AddressFamily::kIpv4 ? "-4" : "-6",
                                          " asks for ",
                                          FamilyName(family == AF_INET ? AF_INET6 : AF_INET)));
  for (const TargetLine& t : targets) {
    auto hp = SplitHostPort(t.target, 0);
    if (!hp.ok()) continue;  // CheckTarget has refused it already
    const int tf = AddressFamilyOf(hp->host);
    if (tf != AF_UNSPEC && tf != family)
      return Usage("--source", absl::StrCat(o.source, " is ", FamilyName(family),
                                            " but target ", t.target, " is ",
                                            FamilyName(tf)));
  }
  o.source = host;
  o.family = want;
  return absl::OkStatus();
}

// Every session, source port or shared socket is a descriptor: check they fit before
// opening any, and say what to do when they do not.
absl::Status CheckSocketBudget(const ClientOptions& o) {
  const uint64_t sessions = o.src_ports > 0 ? o.src_ports : std::max<uint32_t>(o.sessions, 1);
  const uint64_t per_target =
      engine::SocketsPerTarget(static_cast<uint32_t>(sessions), o.sockets);
  const uint64_t targets = std::max<size_t>(o.targets.size(), 1);
  const uint64_t needed = per_target * targets;
  const uint64_t limit = engine::RaiseFileLimit();
  const uint64_t budget = limit > engine::kReservedFds ? limit - engine::kReservedFds : 0;
  if (needed <= budget) return absl::OkStatus();
  const uint64_t fit = budget / targets;  // sockets per target that would fit
  std::string hint;
  if (fit == 0) {
    hint = absl::StrCat("raise it to ", needed + engine::kReservedFds, " or more (ulimit -n)");
  } else if (o.src_ports > 0) {
    hint = absl::StrCat("use --src-ports ", fit, " or fewer, or raise the limit (ulimit -n)");
  } else {
    hint = absl::StrCat("use --sockets ", fit, " or fewer to share sockets");
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      needed, needed == 1 ? " socket needs " : " sockets need ", needed + engine::kReservedFds,
      " open files (", engine::kReservedFds, " besides the sockets) but the limit is ", limit,
      " (RLIMIT_NOFILE, raised to its hard limit): ", hint));
}

absl::Status FinishClientOptions(ClientArgs& a, ClientOptions& o) {
  // Targets: the positional ones, then the file's, each once.
  std::vector<TargetLine> targets;
  for (const std::string& t : a.targets) {
    UDPBEAT_RETURN_IF_ERROR(CheckTarget(t));
    UDPBEAT_RETURN_IF_ERROR(AppendTargets(targets, {TargetLine{t, {}, 0}}, ""));
  }
  // heartbeat's reload keeps these and reads the file again.
  o.command_line_targets = targets.size();
  if (!o.targets_file.empty()) {
    UDPBEAT_ASSIGN_OR_RETURN(std::vector<TargetLine> more, LoadTargetsFile(o.targets_file));
    UDPBEAT_RETURN_IF_ERROR(AppendTargets(targets, std::move(more), o.targets_file));
    if (targets.empty())
      return absl::InvalidArgumentError(
          absl::StrCat(o.targets_file, " lists no target and none is given: give HOST[:PORT] "
                                       "or a line in the file"));
  }
  if (targets.empty())
    return absl::InvalidArgumentError(
        "no target: give HOST[:PORT] (one or more) or --targets FILE");
  o.targets.clear();
  for (TargetLine& t : targets)
    o.targets.push_back(TargetArg{t.target, std::move(t.labels), t.line});

  auto proto = ParseProbeProto(a.proto);
  if (!proto.ok()) return Usage("--proto", proto.status().message());
  o.proto = *proto;
  if (a.v4 && a.v6) return absl::InvalidArgumentError("-4 and -6 exclude each other");
  o.family = a.v4 ? AddressFamily::kIpv4 : a.v6 ? AddressFamily::kIpv6 : AddressFamily::kAny;
  UDPBEAT_RETURN_IF_ERROR(FinishSource(o, targets));

  if (o.src_ports > 0 && o.sessions > 1)
    return absl::InvalidArgumentError(
        "--src-ports and --sessions exclude each other (each source port is a session)");
  if (o.src_ports > 0 && o.sockets > 0)
    return absl::InvalidArgumentError(
        "--src-ports and --sockets exclude each other (each source port is its own socket)");
  if (a.dscp >= 0) {
    if (o.tos >= 0) return absl::InvalidArgumentError("--tos and --dscp exclude each other");
    o.tos = a.dscp << 2;
  }
  if (o.proto != ProbeProto::kStamp) {
    if (!o.auth_key_file.empty())
      return Usage("--auth-key", "STAMP only (not with --proto seed)");
    if (o.follow_up) return Usage("--follow-up", "STAMP only (not with --proto seed)");
  }
  UDPBEAT_RETURN_IF_ERROR(CheckAuthKey("--auth-key", o.auth_key_file));
  UDPBEAT_RETURN_IF_ERROR(ParseDurationInto(a.metrics_interval, "--metrics-interval",
                                            kMinMetricsInterval, kMaxMetricsInterval,
                                            &o.metrics_period));
  // A live progress line only where it helps and harms nothing: a person at a terminal
  // watching many sessions or targets, whose per-reply lines are not printed.
  o.progress = ::isatty(STDOUT_FILENO) == 1 && !o.quiet && !o.json &&
               (o.targets.size() > 1 || o.sessions > 1 || o.src_ports > 1);
  return CheckSocketBudget(o);
}

// --------------------------------------------------------------------------------- ping

struct PingArgs {
  PingOptions opts;
  ClientArgs client;
  DurationArg interval, timeout, duration;
  double rate = 0;
};

CLI::App* AddPing(CLI::App& app, PingArgs& a) {
  CLI::App* sub = app.add_subcommand("ping", "Measure round-trip time and loss to servers");
  AddTargets(sub, a.client, "Servers to ping");
  sub->add_option("-c,--count", a.opts.count,
                  absl::StrCat("Number of pings per session (per source port with "
                               "--src-ports), 0 to ",
                               kMaxCount, "; 0 runs until interrupted"))
      ->capture_default_str()
      ->transform(WholeIn(0, kMaxCount))
      ->type_name("COUNT");
  sub->add_option("-i,--interval", a.interval.text,
                  "Send every D, up to 24h (2ms at least unless root); 0: next ping after "
                  "reply or timeout (2ms apart at least unless root)")
      ->default_str("1s")
      ->type_name("D");
  sub->add_option("-W,--timeout", a.timeout.text,
                  "Wait D for a reply, 1us to 1h; later replies are late")
      ->default_str("1s")
      ->type_name("D");
  sub->add_option("--rate", a.rate,
                  "Send PPS probes per second per session, 0.001 to 1000000000 (500 at most "
                  "unless root; sets -i)")
      ->check(RealIn(kMinRate, kMaxRate))
      ->type_name("PPS");
  sub->add_option("--duration", a.duration.text, "Send for D, 1ms to 8760h, instead of -c probes")
      ->type_name("D");
  AddClientOptions(sub, a.opts, a.client, "Print only the statistics");
  return sub;
}

absl::Status FinishPing(PingArgs& a, CLI::App* sub) {
  PingOptions& o = a.opts;
  UDPBEAT_RETURN_IF_ERROR(FinishClientOptions(a.client, o));
  const bool has_rate = sub->count("--rate") > 0;
  if (has_rate && a.interval.set())
    return absl::InvalidArgumentError("--rate and --interval exclude each other");
  o.interval = PingOptions::kDefaultInterval;
  if (a.interval.set()) {
    Nanos interval = 0;
    UDPBEAT_RETURN_IF_ERROR(
        ParseDurationInto(a.interval, "--interval", 0, kMaxInterval, &interval));
    UDPBEAT_RETURN_IF_ERROR(CheckUserInterval("--interval", interval));
    // 0: the lab's rhythm, the next probe when the last is answered or timed out; for
    // users other than root no sooner than 2 ms after the last (ping -A's floor), so
    // that a fast peer cannot turn it into a flood.
    o.interval = interval > 0 ? std::optional<Nanos>(interval) : std::nullopt;
    if (interval == 0 && !IsRoot()) o.min_gap = ClientOptions::kMinUserInterval;
  }
  if (has_rate) {
    const Nanos interval = std::max<Nanos>(static_cast<Nanos>(1e9 / a.rate), 1);
    if (interval < ClientOptions::kMinUserInterval && !IsRoot())
      return Usage("--rate", absl::StrCat(FormatReal(a.rate), " is above ",
                                          kNanosPerSecond / ClientOptions::kMinUserInterval,
                                          ", the highest rate allowed to users other than root "
                                          "(as with ping(8))"));
    o.interval = interval;
  }
  UDPBEAT_RETURN_IF_ERROR(
      ParseDurationInto(a.timeout, "--timeout", kMinTimeout, kMaxTimeout, &o.timeout));
  UDPBEAT_RETURN_IF_ERROR(
      ParseDurationInto(a.duration, "--duration", kMinDuration, kMaxDuration, &o.duration));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------- heartbeat

struct HeartbeatArgs {
  HeartbeatOptions opts;
  ClientArgs client;
  DurationArg interval, timeout, phi_pause;
  double phi = 0;
};

CLI::App* AddHeartbeat(CLI::App& app, HeartbeatArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "heartbeat", "Send heartbeats on a fixed schedule and detect when peers are down");
  AddTargets(sub, a.client, "Peers to watch");
  sub->add_option("-i,--interval", a.interval.text,
                  "Send a heartbeat every D, up to 24h (2ms at least unless root)")
      ->default_str("1s")
      ->type_name("D");
  sub->add_option("-c,--count", a.opts.count,
                  absl::StrCat("Number of heartbeats per session (per source port with "
                               "--src-ports), 0 to ",
                               kMaxCount, "; 0 runs until interrupted"))
      ->capture_default_str()
      ->transform(WholeIn(0, kMaxCount))
      ->type_name("COUNT");
  sub->add_option("-W,--timeout", a.timeout.text,
                  "A heartbeat not answered within D (1us to 1h) is missed (default: the "
                  "interval)")
      ->type_name("D");
  sub->add_option("--misses", a.opts.misses,
                  absl::StrCat("Declare a peer down after K consecutive misses, 1 to ", kMaxMisses))
      ->capture_default_str()
      ->transform(WholeIn(1, kMaxMisses))
      ->type_name("K");
  sub->add_option("--phi", a.phi,
                  "Also declare it down when the phi-accrual suspicion reaches THRESHOLD, 0.1 "
                  "to 100 (e.g. 8)")
      ->check(RealIn(kMinPhi, kMaxPhi))
      ->type_name("THRESHOLD");
  sub->add_option("--phi-pause", a.phi_pause.text,
                  "Phi accrual: acceptable pause between heartbeats, 0 to 1h (default: 3 "
                  "intervals)")
      ->type_name("D");
  sub->add_flag("--exit-on-down", a.opts.exit_on_down, "End the run when a peer is declared down");
  sub->add_option("--metrics-listen", a.opts.metrics_listen,
                  "Serve Prometheus metrics at http://ADDR:PORT/metrics (numeric address; :PORT: "
                  "every address, IPv6 and IPv4)")
      ->type_name("ADDR:PORT");
  AddClientOptions(sub, a.opts, a.client, "Print only state changes and the statistics");
  return sub;
}

absl::Status FinishHeartbeat(HeartbeatArgs& a, CLI::App* sub) {
  HeartbeatOptions& o = a.opts;
  UDPBEAT_RETURN_IF_ERROR(FinishClientOptions(a.client, o));
  UDPBEAT_RETURN_IF_ERROR(
      ParseDurationInto(a.interval, "--interval", 1, kMaxInterval, &o.interval));
  UDPBEAT_RETURN_IF_ERROR(CheckUserInterval("--interval", o.interval));
  if (a.timeout.set()) {
    Nanos t = 0;
    UDPBEAT_RETURN_IF_ERROR(
        ParseDurationInto(a.timeout, "--timeout", kMinTimeout, kMaxTimeout, &t));
    o.timeout = t;
  }
  if (a.phi_pause.set()) {
    Nanos pause = 0;
    UDPBEAT_RETURN_IF_ERROR(
        ParseDurationInto(a.phi_pause, "--phi-pause", 0, kMaxPhiPause, &pause));
    o.phi_pause = pause;
  }
  if (sub->count("--phi") > 0) o.phi = a.phi;
  if (!o.metrics_listen.empty())
    UDPBEAT_RETURN_IF_ERROR(CheckListenAddress("--metrics-listen", o.metrics_listen));
  return absl::OkStatus();
}

// ------------------------------------------------------------------ unknown arguments

std::vector<std::string> OptionNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app->get_options()) {
    for (const std::string& n : opt->get_lnames()) names.push_back("--" + n);
    for (const std::string& n : opt->get_snames()) names.push_back("-" + n);
  }
  return names;
}

// "--bogus=3" -> "--bogus", "-wfoo" -> "-w".
std::string OptionWord(const std::string& arg) {
  if (arg.rfind("--", 0) == 0) return arg.substr(0, arg.find('='));
  return arg.substr(0, 2);
}

// Habits from ping(8) whose letters mean something else here.
std::string_view PingHabit(std::string_view option) {
  if (option == "-w") return "for ping(8)'s -w (deadline) use --duration";
  if (option == "-t") return "ping(8)'s -t (TTL) has no udpbeat equivalent";
  return "";
}

// The first argument CLI11 could not place, as one message; "" when there is none.
// Unknown options come before anything else, so `ping -w 3 HOST` names -w, not HOST.
std::string UnknownArgument(const CLI::App& app, const std::vector<CLI::App*>& subs) {
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : subs)
    if (s->parsed()) sub = s;
  // Each argument with the subcommand it was given to (nullptr: before any).
  std::vector<std::pair<std::string, const CLI::App*>> rest;
  for (const std::string& arg : app.remaining()) rest.emplace_back(arg, nullptr);
  if (sub != nullptr)
    for (const std::string& arg : sub->remaining()) rest.emplace_back(arg, sub);
  for (const auto& [arg, owner] : rest) {
    // "--" ends the options; CLI11 leaves the mark itself among the extras.
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") continue;
    const CLI::App* where = owner != nullptr ? owner : &app;
    const std::string option = OptionWord(arg);
    const std::string context =
        owner != nullptr ? absl::StrCat(" for ", owner->get_name()) : std::string();
    std::string hint;
    if (option.rfind("--", 0) == 0) {
      std::vector<std::string> long_names;
      for (std::string& n : OptionNames(where))
        if (n.rfind("--", 0) == 0) long_names.push_back(std::move(n));
      const std::string close = ClosestMatch(option, long_names);
      if (!close.empty()) hint = absl::StrCat(" (did you mean ", close, "?)");
    }
    if (hint.empty() && owner != nullptr && owner->get_name() == "ping" &&
        !PingHabit(option).empty())
      hint = absl::StrCat("; ", AbslView(PingHabit(option)));
    if (hint.empty()) {
      // Right name, wrong place ("serve --json", "--count ping")?
      std::vector<std::string> owners;
      for (const CLI::App* s : subs) {
        if (s == owner) continue;
        const std::vector<std::string> names = OptionNames(s);
        if (std::find(names.begin(), names.end(), option) != names.end())
          owners.push_back(s->get_name());
      }
      if (!owners.empty())
        hint = absl::StrCat(" (it is an option of ", absl::StrJoin(owners, " and "),
                            owner == nullptr ? ": put it after the subcommand)" : ")");
    }
    return absl::StrCat("unknown option ", option, context, hint);
  }
  for (const auto& [arg, owner] : rest) {
    if (arg == "--") continue;
    if (owner == nullptr) {
      std::vector<std::string> names;
      for (const CLI::App* s : subs) names.push_back(s->get_name());
      const std::string close = ClosestMatch(arg, names);
      return absl::StrCat("unknown subcommand '", arg, "'",
                          close.empty() ? "" : absl::StrCat(" (did you mean '", close, "'?)"),
                          "; see 'udpbeat help'");
    }
    return absl::StrCat("unexpected argument '", arg, "' for ", owner->get_name(),
                        owner == sub && sub->get_name() == "help" ? " (give one subcommand)"
                                                                  : " (it takes options only)");
  }
  return "";
}

// `--flag=VALUE` (or `-f=VALUE`) for an option that takes no value, and `--option=` with
// nothing after the '=', as one message; "" when there is neither. Checked before CLI11
// parses: it would say "Could not convert" for `--json=foo`, take `--follow-up=2` as
// true, read `-q=yes` as the letters -q -= -y -e -s, and give `--count=` the next
// argument (the target) as its value.
std::string InlineValueMisuse(CLI::App& app, const std::vector<CLI::App*>& subs, int argc,
                              char** argv) {
  CLI::App* where = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;  // targets from here on
    if (arg.size() < 2 || arg[0] != '-') {
      if (where == &app) {
        for (CLI::App* s : subs)
          if (s->get_name() == arg) where = s;
      }
      continue;
    }
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) continue;
    if (arg[1] != '-') {
      // Short options: "-q=yes", or flags run together, "-qD=1". Letters up to one that
      // takes a value ("-c5=", "-I=x") are that option's value: CLI11 checks it.
      for (size_t k = 1; k < eq; ++k) {
        const CLI::Option* opt = where->get_option_no_throw(std::string{'-', arg[k]});
        if (opt == nullptr || opt->get_expected_max() != 0) break;
        if (k + 1 == eq) return absl::StrCat("-", std::string(1, arg[k]), " takes no value");
      }
      continue;
    }
    const std::string name = arg.substr(0, eq);
    const CLI::Option* opt = where->get_option_no_throw(name);
    if (opt == nullptr) continue;  // unknown: UnknownArgument names it after the parse
    if (opt->get_expected_max() == 0) return absl::StrCat(name, " takes no value");
    if (eq + 1 == arg.size()) {
      return absl::StrCat(name, ": empty value after '=' (give ", opt->get_type_name(), ")");
    }
  }
  return "";
}

// CLI11's own messages for what reaches it, in udpbeat's words.
std::string ParseErrorMessage(const CLI::ParseError& e) {
  std::string what = e.what();
  // ArgumentMismatch for an option without its value: "--count: 1 required COUNT missing".
  if (const size_t p = what.find(": 1 required "); p != std::string::npos &&
                                                   what.size() > 8 &&
                                                   what.compare(what.size() - 8, 8, " missing") == 0) {
    const std::string name = what.substr(0, p);
    const std::string type = what.substr(p + 13, what.size() - 8 - (p + 13));
    return absl::StrCat(name, " needs a value (", type, ")");
  }
  return what;
}

// ------------------------------------------------------------------------------ running

// Runs after a successful parse; returns the exit status. Mode errors print one line.
int RunParsed(CLI::App& app, CLI::App* serve, ServeArgs& serve_args, CLI::App* ping,
              PingArgs& ping_args, CLI::App* heartbeat, HeartbeatArgs& heartbeat_args,
              CLI::App* help, const std::string& help_topic, FdOutput& out) {
  if (help->parsed()) {
    if (help_topic.empty()) {
      // app.help() would describe the parsed `help` subcommand itself.
      out << app.get_formatter()->make_help(&app, kName, CLI::AppFormatMode::Normal);
      return kExitOk;
    }
    std::vector<std::string> names;
    for (CLI::App* sub : {serve, ping, heartbeat}) {
      if (sub->get_name() == help_topic) {
        out << sub->help(kName);
        return kExitOk;
      }
      names.push_back(sub->get_name());
    }
    const std::string close = ClosestMatch(help_topic, names);
    return Fail(absl::StrCat("help: no subcommand '", help_topic, "'",
                             close.empty() ? "" : absl::StrCat(" (did you mean '", close, "'?)"),
                             "; the subcommands are serve, ping and heartbeat"));
  }
  if (serve->parsed()) {
    if (auto s = FinishServe(serve_args, serve); !s.ok()) return Fail(s);
    if (auto s = RunServe(serve_args.opts, out, std::cerr); !s.ok()) return Fail(s);
    return kExitOk;
  }
  if (ping->parsed()) {
    if (auto s = FinishPing(ping_args, ping); !s.ok()) return Fail(s);
    auto code = RunPing(ping_args.opts, out, std::cerr);
    if (!code.ok()) return Fail(code.status());
    return *code;
  }
  if (heartbeat->parsed()) {
    if (auto s = FinishHeartbeat(heartbeat_args, heartbeat); !s.ok()) return Fail(s);
    auto code = RunHeartbeat(heartbeat_args.opts, out, std::cerr);
    if (!code.ok()) return Fail(code.status());
    return *code;
  }
  return Fail("a subcommand is required: serve, ping or heartbeat (see 'udpbeat help')");
}

int RunCliTo(int argc, char** argv, FdOutput& out) {
  CLI::App app{"udpbeat - UDP reachability, latency and heartbeat tool", kName};
  app.set_version_flag("-V,--version", absl::StrCat(kName, " ", UDPBEAT_VERSION));
  app.require_subcommand(0, 1);
  app.fallthrough(false);
  // Unknown arguments are collected, not thrown, so that they are named precisely
  // (UnknownArgument); a repeated option takes its last value, as ping(8)'s do.
  app.allow_extras(true);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  ServeArgs serve_args;
  PingArgs ping_args;
  HeartbeatArgs heartbeat_args;
  CLI::App* serve = AddServe(app, serve_args);
  CLI::App* ping = AddPing(app, ping_args);
  CLI::App* heartbeat = AddHeartbeat(app, heartbeat_args);

  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "Show help for udpbeat or one subcommand");
  help->add_option("subcommand", help_topic, "Subcommand to describe")->type_name("SUBCOMMAND");
  const std::vector<CLI::App*> subs = {serve, ping, heartbeat, help};
  for (CLI::App* s : subs) s->allow_extras(true);

  if (const std::string misuse = InlineValueMisuse(app, subs, argc, argv); !misuse.empty())
    return Fail(misuse);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, std::cerr);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, std::cerr);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, std::cerr);
  } catch (const CLI::ParseError& e) {
    return Fail(ParseErrorMessage(e));
  }
  if (const std::string unknown = UnknownArgument(app, subs); !unknown.empty())
    return Fail(unknown);
  return RunParsed(app, serve, serve_args, ping, ping_args, heartbeat, heartbeat_args, help,
                   help_topic, out);
}

}  // namespace

int RunCli(int argc, char** argv) {
  HoldStandardDescriptors();
  BlockLoopSignals();
  // Standard output for every mode and for --help and --version: a write that fails
  // (a full disk, a closed descriptor) is an error of the run, never output lost quietly.
  FdOutput out(STDOUT_FILENO);
  int code = RunCliTo(argc, argv, out);
  out.flush();
  // One line per failure: a run that already failed and said why (a plot to /dev/stdout
  // on a full disk) is not told again that stdout failed too.
  if (absl::Status s = out.WriteStatus("stdout"); !s.ok() && code != kExitError) code = Fail(s);
  return code;
}

}  // namespace udpbeat
