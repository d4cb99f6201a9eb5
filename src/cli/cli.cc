#include "udpbeat/cli/cli.h"

#include <signal.h>
#include <unistd.h>

#include <functional>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/exit_code.h"
#include "udpbeat/engine/socket_budget.h"
#include "udpbeat/modes/heartbeat.h"
#include "udpbeat/modes/ping.h"
#include "udpbeat/modes/serve.h"
#include "udpbeat/time/duration_parse.h"

namespace udpbeat {
namespace {

constexpr const char* kName = "udpbeat";

int Fail(std::string_view message) {
  std::cerr << kName << ": " << message << std::endl;
  return kExitError;
}

int Fail(const absl::Status& status) { return Fail(std::string(status.message())); }

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

// Validators whose messages read as one plain sentence (CLI11's print the type's range).
CLI::Validator Sentence(std::function<bool(const std::string&)> ok, std::string message) {
  return CLI::Validator(
      [ok = std::move(ok), message = std::move(message)](std::string& v) {
        return ok(v) ? std::string() : message;
      },
      "", "");
}

CLI::Validator AtLeast(int64_t min) {
  return Sentence(
      [min](const std::string& v) {
        int64_t n = 0;
        return absl::SimpleAtoi(v, &n) && n >= min;
      },
      absl::StrCat("must be a whole number, ", min, " or more"));
}

CLI::Validator AtMost(uint64_t max) {
  return Sentence(
      [max](const std::string& v) {
        uint64_t n = 0;
        return absl::SimpleAtoi(v, &n) && n <= max;
      },
      absl::StrCat("must be 0 to ", max));
}

// A real number in [min, max] (min excluded when `open_min`).
CLI::Validator Between(double min, double max, bool open_min, std::string message) {
  return Sentence(
      [=](const std::string& v) {
        double x = 0;
        return absl::SimpleAtod(v, &x) && (open_min ? x > min : x >= min) && x <= max;
      },
      std::move(message));
}

CLI::Validator Probability() { return Between(0, 1, false, "must be between 0 and 1"); }
CLI::Validator PositiveRate() { return Between(0, 1e9, true, "must be a rate above 0"); }

// Duration options are taken as text and parsed by ParseDurationArg (250ms, 1.5s, 2).
struct DurationArg {
  std::string text;
  bool set() const { return !text.empty(); }
};

absl::Status ParseDurationInto(const DurationArg& arg, std::string_view flag, Nanos* out) {
  if (!arg.set()) return absl::OkStatus();
  auto d = ParseDurationArg(arg.text);
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(AbslView(flag), ": ", d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

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
                  "Simulated loss: drop each valid request with probability P (the lab: 0.364)")
      ->check(Probability())
      ->type_name("P");
  sub->add_option("--seed", a.seed, "Seed of the loss and jitter random generator")
      ->type_name("N");
  sub->add_option("--delay", a.delay.text, "Delay every reply by D (e.g. 50ms)")->type_name("D");
  sub->add_option("--jitter", a.jitter.text, "Vary the reply delay uniformly by +-D")
      ->type_name("D");
  sub->add_flag("--stamp-stateful", a.opts.worker.stamp_stateful,
                "STAMP: number replies per session so senders see forward and backward loss");
  sub->add_option("--max-peers", a.opts.worker.max_peers,
                  "Remember at most N peers (STAMP sessions); the least recent are evicted")
      ->capture_default_str()
      ->check(AtLeast(1))
      ->type_name("N");
  sub->add_option("--max-rate", a.opts.worker.max_rate,
                  "Answer at most PPS requests per second from each source (token bucket; "
                  "0: no limit)")
      ->capture_default_str()
      ->check(Between(0, 1e9, false, "must be a rate from 0 (no limit) to 1e9"))
      ->type_name("PPS");
  sub->add_option("--max-delay-bytes", a.opts.worker.max_delay_bytes,
                  "Hold at most N bytes of delayed replies; beyond, replies are dropped")
      ->capture_default_str()
      ->check(Sentence(
          [](const std::string& v) {
            uint64_t n = 0;
            return absl::SimpleAtoi(v, &n) && n >= engine::ServeWorkerConfig::kMinDelayBytes &&
                   n <= engine::ServeWorkerConfig::kMaxDelayBytes;
          },
          absl::StrCat("must be a whole number, ", engine::ServeWorkerConfig::kMinDelayBytes,
                       " to ", engine::ServeWorkerConfig::kMaxDelayBytes)))
      ->type_name("N");
  sub->add_option("--threads", a.opts.threads,
                  "Serve with N threads, each its own event loop and SO_REUSEPORT socket")
      ->capture_default_str()
      ->check(AtLeast(1))
      ->type_name("N");
  sub->add_option("--metrics-file", a.opts.metrics_file,
                  "Write Prometheus metrics to PATH (replaced atomically)")
      ->type_name("PATH");
  sub->add_option("--metrics-interval", a.metrics_interval.text, "Rewrite the metrics file every D")
      ->default_str("5s")
      ->type_name("D");
  sub->add_flag("-q,--quiet", a.opts.quiet, "Print nothing but errors");
  return sub;
}

int RunServeCommand(ServeArgs& a, CLI::App* sub) {
  auto mode = ParseReplyMode(a.reply);
  if (!mode.ok()) return Fail(absl::StrCat("--reply: ", mode.status().message()));
  a.opts.worker.reply = *mode;
  if (sub->count("--seed") > 0) a.opts.worker.rng_seed = a.seed;
  if (auto s = ParseDurationInto(a.delay, "--delay", &a.opts.worker.delay); !s.ok()) return Fail(s);
  if (auto s = ParseDurationInto(a.jitter, "--jitter", &a.opts.worker.jitter); !s.ok())
    return Fail(s);
  if (auto s = ParseDurationInto(a.metrics_interval, "--metrics-interval", &a.opts.metrics_period);
      !s.ok())
    return Fail(s);
  if (a.opts.metrics_period <= 0) return Fail("--metrics-interval: must be greater than 0");
  if (auto s = RunServe(a.opts, std::cout, std::cerr); !s.ok()) return Fail(s);
  return kExitOk;
}

// The options ping and heartbeat share, and their text forms.
struct ClientArgs {
  std::string target;
  std::string proto = "stamp";
  bool v4 = false, v6 = false;
};

void AddClientOptions(CLI::App* sub, ClientOptions& o, ClientArgs& a, const char* quiet_help) {
  sub->add_option("--proto", a.proto,
                  "Protocol: stamp (RFC 8762) or seed (the lab's text protocol)")
      ->capture_default_str()
      ->type_name("PROTO");
  sub->add_option("-s,--size", o.size, "Pad each request to SIZE bytes")
      ->check(AtMost(ClientOptions::kMaxSize))
      ->type_name("SIZE");
  sub->add_flag("-q,--quiet", o.quiet, quiet_help);
  sub->add_flag("--json", o.json, "JSON Lines on stdout: one object per event and a summary");
  sub->add_option("--sessions", o.sessions,
                  "Run N concurrent sessions, each its own socket and source port")
      ->capture_default_str()
      ->check(AtLeast(1))
      ->type_name("N");
  sub->add_option("--sockets", o.sockets,
                  "Share M sockets among the sessions (default: one per session)")
      ->check(AtLeast(1))
      ->type_name("M");
  sub->add_option("--plot", o.plot_file,
                  "Write an SVG of RTT over time (timeouts marked) and its distribution")
      ->type_name("FILE");
  sub->add_flag("-4", a.v4, "Use IPv4 only");
  sub->add_flag("-6", a.v6, "Use IPv6 only");
}

absl::Status FinishClientOptions(const ClientArgs& a, ClientOptions& o) {
  auto proto = ParseProbeProto(a.proto);
  if (!proto.ok())
    return absl::InvalidArgumentError(absl::StrCat("--proto: ", proto.status().message()));
  o.proto = *proto;
  if (a.v4 && a.v6) return absl::InvalidArgumentError("-4 and -6 exclude each other");
  o.family = a.v4 ? AddressFamily::kIpv4 : a.v6 ? AddressFamily::kIpv6 : AddressFamily::kAny;
  o.targets = {TargetArg{a.target, {}}};
  // Every session is a socket unless they share: check they fit before opening any.
  const uint64_t per_target = o.sockets == 0 ? std::max<uint32_t>(o.sessions, 1)
                                             : std::min(o.sockets, std::max<uint32_t>(o.sessions, 1));
  const uint64_t needed = per_target * o.targets.size();
  const uint64_t budget = engine::SocketBudget();
  if (needed > budget) {
    return absl::ResourceExhaustedError(absl::StrCat(
        needed, " sockets need ", needed + engine::kReservedFds,
        " open files but the limit is ", budget + engine::kReservedFds,
        " (RLIMIT_NOFILE, raised to its hard limit): ",
        budget > 0 ? absl::StrCat("use --sockets ", budget / o.targets.size(),
                                  " or fewer to share sockets")
                   : std::string("raise it (ulimit -n)")));
  }
  return absl::OkStatus();
}

struct PingArgs {
  PingOptions opts;
  ClientArgs client;
  DurationArg interval, timeout, duration;
  double rate = 0;
};

CLI::App* AddPing(CLI::App& app, PingArgs& a) {
  CLI::App* sub = app.add_subcommand("ping", "Measure round-trip time and loss to a server");
  sub->add_option("target", a.client.target,
                  "Server to ping (default port: 862 for stamp, 12000 for seed)")
      ->required()
      ->type_name("HOST[:PORT]");
  sub->add_option("-c,--count", a.opts.count, "Number of pings; 0 runs until interrupted")
      ->capture_default_str()
      ->check(AtLeast(0))
      ->type_name("COUNT");
  sub->add_option("-i,--interval", a.interval.text,
                  "Send on a fixed schedule every D (default: next ping after reply or timeout)")
      ->type_name("D");
  sub->add_option("-W,--timeout", a.timeout.text, "Wait D for a reply; later replies are late")
      ->default_str("1s")
      ->type_name("D");
  sub->add_option("--rate", a.rate, "Send PPS probes per second per session (sets -i)")
      ->check(PositiveRate())
      ->type_name("PPS");
  sub->add_option("--duration", a.duration.text, "Send for D instead of -c probes")
      ->type_name("D");
  AddClientOptions(sub, a.opts, a.client, "Print only the statistics");
  return sub;
}

int RunPingCommand(PingArgs& a) {
  if (auto s = FinishClientOptions(a.client, a.opts); !s.ok()) return Fail(s);
  if (a.rate > 0 && a.interval.set()) return Fail("--rate and --interval exclude each other");
  if (a.rate > 0) a.opts.interval = static_cast<Nanos>(1e9 / a.rate);
  if (auto s = ParseDurationInto(a.duration, "--duration", &a.opts.duration); !s.ok())
    return Fail(s);
  if (a.duration.set() && a.opts.duration <= 0) return Fail("--duration: must be greater than 0");
  if (a.opts.sessions > 1 && !a.opts.interval && !a.interval.set())
    a.opts.interval = kNanosPerSecond;  // many sessions: a fixed schedule, 1/s by default
  a.opts.progress = !a.opts.quiet && !a.opts.json && ::isatty(STDOUT_FILENO) == 1;
  if (a.interval.set()) {
    Nanos interval = 0;
    if (auto s = ParseDurationInto(a.interval, "--interval", &interval); !s.ok()) return Fail(s);
    if (interval <= 0) return Fail("--interval: must be greater than 0");
    a.opts.interval = interval;
  }
  if (auto s = ParseDurationInto(a.timeout, "--timeout", &a.opts.timeout); !s.ok()) return Fail(s);
  if (a.opts.timeout <= 0) return Fail("--timeout: must be greater than 0");
  auto code = RunPing(a.opts, std::cout, std::cerr);
  if (!code.ok()) return Fail(code.status());
  return *code;
}

struct HeartbeatArgs {
  HeartbeatOptions opts;
  ClientArgs client;
  DurationArg interval, timeout, phi_pause, metrics_interval;
  double phi = 0;
};

CLI::App* AddHeartbeat(CLI::App& app, HeartbeatArgs& a) {
  CLI::App* sub = app.add_subcommand(
      "heartbeat", "Send heartbeats on a fixed schedule and detect when the peer is down");
  sub->add_option("target", a.client.target,
                  "Peer to watch (default port: 862 for stamp, 12000 for seed)")
      ->required()
      ->type_name("HOST[:PORT]");
  sub->add_option("-i,--interval", a.interval.text, "Send a heartbeat every D")
      ->default_str("1s")
      ->type_name("D");
  sub->add_option("-c,--count", a.opts.count, "Number of heartbeats; 0 runs until interrupted")
      ->capture_default_str()
      ->check(AtLeast(0))
      ->type_name("COUNT");
  sub->add_option("-W,--timeout", a.timeout.text,
                  "A heartbeat not answered within D is missed (default: the interval)")
      ->type_name("D");
  sub->add_option("--misses", a.opts.misses, "Declare the peer down after K consecutive misses")
      ->capture_default_str()
      ->check(AtLeast(1))
      ->type_name("K");
  sub->add_option("--phi", a.phi,
                  "Also declare it down when the phi-accrual suspicion reaches THRESHOLD (e.g. 8)")
      ->check(PositiveRate())
      ->type_name("THRESHOLD");
  sub->add_option("--phi-pause", a.phi_pause.text,
                  "Phi accrual: acceptable pause between heartbeats (default: 3 intervals)")
      ->type_name("D");
  sub->add_flag("--exit-on-down", a.opts.exit_on_down, "End the run when the peer is declared down");
  sub->add_option("--metrics-file", a.opts.metrics_file,
                  "Write Prometheus metrics to PATH (replaced atomically)")
      ->type_name("PATH");
  sub->add_option("--metrics-interval", a.metrics_interval.text, "Rewrite the metrics file every D")
      ->default_str("5s")
      ->type_name("D");
  AddClientOptions(sub, a.opts, a.client, "Print only state changes and the statistics");
  return sub;
}

int RunHeartbeatCommand(HeartbeatArgs& a, CLI::App* sub) {
  if (auto s = FinishClientOptions(a.client, a.opts); !s.ok()) return Fail(s);
  if (auto s = ParseDurationInto(a.interval, "--interval", &a.opts.interval); !s.ok()) return Fail(s);
  if (a.opts.interval <= 0) return Fail("--interval: must be greater than 0");
  if (a.timeout.set()) {
    Nanos t = 0;
    if (auto s = ParseDurationInto(a.timeout, "--timeout", &t); !s.ok()) return Fail(s);
    if (t <= 0) return Fail("--timeout: must be greater than 0");
    a.opts.timeout = t;
  }
  if (a.phi_pause.set()) {
    Nanos pause = 0;
    if (auto s = ParseDurationInto(a.phi_pause, "--phi-pause", &pause); !s.ok()) return Fail(s);
    a.opts.phi_pause = pause;
  }
  if (auto s = ParseDurationInto(a.metrics_interval, "--metrics-interval", &a.opts.metrics_period);
      !s.ok())
    return Fail(s);
  if (a.opts.metrics_period <= 0) return Fail("--metrics-interval: must be greater than 0");
  if (sub->count("--phi") > 0) a.opts.phi = a.phi;
  auto code = RunHeartbeat(a.opts, std::cout, std::cerr);
  if (!code.ok()) return Fail(code.status());
  return *code;
}

}  // namespace

int RunCli(int argc, char** argv) {
  BlockLoopSignals();
  CLI::App app{"udpbeat - UDP reachability, latency and heartbeat tool", kName};
  app.set_version_flag("-V,--version", absl::StrCat(kName, " ", UDPBEAT_VERSION));
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  ServeArgs serve_args;
  PingArgs ping_args;
  CLI::App* serve = AddServe(app, serve_args);
  CLI::App* ping = AddPing(app, ping_args);
  HeartbeatArgs heartbeat_args;
  CLI::App* heartbeat = AddHeartbeat(app, heartbeat_args);

  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "Show help for udpbeat or one subcommand");
  help->add_option("subcommand", help_topic, "Subcommand to describe")->type_name("SUBCOMMAND");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(e.what());
  }

  if (help->parsed()) {
    if (help_topic.empty()) {
      // app.help() would describe the parsed `help` subcommand itself.
      std::cout << app.get_formatter()->make_help(&app, kName, CLI::AppFormatMode::Normal);
      return kExitOk;
    }
    for (CLI::App* sub : {serve, ping, heartbeat}) {
      if (sub->get_name() == help_topic) {
        std::cout << sub->help(kName);
        return kExitOk;
      }
    }
    return Fail(absl::StrCat("help: no subcommand '", help_topic, "'"));
  }
  if (serve->parsed()) return RunServeCommand(serve_args, serve);
  if (ping->parsed()) return RunPingCommand(ping_args);
  if (heartbeat->parsed()) return RunHeartbeatCommand(heartbeat_args, heartbeat);
  return Fail("a subcommand is required: serve, ping or heartbeat (see 'udpbeat help')");
}

}  // namespace udpbeat
