#include "udpbeat/targets/targets_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/unique_fd.h"

namespace udpbeat {
namespace {

// Names udpbeat gives labels itself, and the ones Prometheus adds when it scrapes: a
// label of the file under one of them would collide with (or be renamed next to) them.
constexpr std::string_view kReservedKeys[] = {"target", "state", "direction", "path",
                                              "src_port", "le", "job", "instance"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string Quoted(std::string_view s) { return absl::StrCat("'", AbslView(s), "'"); }

absl::Status Bad(std::string_view target, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("target ", Quoted(target), ": ", AbslView(why)));
}

// An IPv6 literal, optionally with a zone ("fe80::1%eth0"); inet_pton decides later
// whether it really is one, this only keeps out what cannot be.
bool LooksLikeIpv6(std::string_view host) {
  const size_t zone = host.find('%');
  std::string_view addr = host.substr(0, zone);
  if (addr.find(':') == std::string_view::npos) return false;
  for (char c : addr)
    if (!IsHex(c) && c != ':' && c != '.') return false;
  if (zone != std::string_view::npos) {
    std::string_view id = host.substr(zone + 1);
    if (id.empty()) return false;
    for (char c : id)
      if (!IsAlpha(c) && !IsDigit(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// A host name or IPv4 address: letters, digits, '-', '_' and '.', at most 253 of them
// (a DNS name's limit), not starting with '-' (which reads as an option) or '.'.
bool LooksLikeHostName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host[0] == '-' || host[0] == '.') return false;
  for (char c : host)
    if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

absl::Status CheckPort(std::string_view target, std::string_view port) {
  if (port.empty()) return Bad(target, "empty port (give 1 to 65535, or no ':')");
  bool digits = port.size() <= 5;
  for (char c : port) digits = digits && IsDigit(c);
  if (!digits) {
    // Long digit strings are a number out of range, anything else is not a number.
    bool all_digits = true;
    for (char c : port) all_digits = all_digits && IsDigit(c);
    return Bad(target, all_digits ? absl::StrCat("port ", AbslView(port),
                                                 " is out of range: give 1 to 65535")
                                  : absl::StrCat("port ", Quoted(port),
                                                 " is not a number: give 1 to 65535"));
  }
  uint32_t n = 0;
  for (char c : port) n = n * 10 + static_cast<uint32_t>(c - '0');
  if (n < 1 || n > 65535)
    return Bad(target, absl::StrCat("port ", AbslView(port), " is out of range: give 1 to 65535"));
  return absl::OkStatus();
}

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are not).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

absl::Status CheckLabelValue(std::string_view key, std::string_view value) {
  if (value.empty())
    return absl::InvalidArgumentError(absl::StrCat("label ", Quoted(key), " has no value"));
  for (size_t i = 0; i < value.size();) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7F)
      return absl::InvalidArgumentError(
          absl::StrCat("label ", Quoted(key), ": its value has a control character"));
    const size_t n = Utf8Length(value, i);
    if (n == 0)
      return absl::InvalidArgumentError(
          absl::StrCat("label ", Quoted(key), ": its value is not valid UTF-8"));
    i += n;
  }
  return absl::OkStatus();
}

std::string At(std::string_view origin, int line) {
  return absl::StrCat(AbslView(origin), ":", line, ": ");
}

}  // namespace

absl::Status CheckTarget(std::string_view target) {
  if (target.empty()) return absl::InvalidArgumentError("empty target: give HOST[:PORT]");
  std::string_view host = target;
  std::string_view port;
  bool has_port = false;
  if (target.front() == '[') {
    const size_t close = target.find(']');
    if (close == std::string_view::npos) return Bad(target, "missing ']'");
    host = target.substr(1, close - 1);
    std::string_view rest = target.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Bad(target, "junk after ']' (write [ADDRESS]:PORT)");
      port = rest.substr(1);
      has_port = true;
    }
    if (!LooksLikeIpv6(host)) return Bad(target, "not an IPv6 address in brackets");
  } else {
    const size_t colon = target.find(':');
    if (colon != std::string_view::npos && target.rfind(':') == colon) {
      host = target.substr(0, colon);
      port = target.substr(colon + 1);
      has_port = true;
    }
    // Two or more colons: a bare IPv6 literal, which takes the default port.
    const bool ipv6 = !has_port && colon != std::string_view::npos;
    if (host.empty()) return Bad(target, "empty host");
    if (ipv6 ? !LooksLikeIpv6(host) : !LooksLikeHostName(host))
      return Bad(target, "not a host name or address (write HOST[:PORT])");
  }
  if (host.empty()) return Bad(target, "empty host");
  if (has_port) return CheckPort(target, port);
  return absl::OkStatus();
}

absl::Status CheckLabelKey(std::string_view key) {
  bool ok = !key.empty() && !IsDigit(key[0]);
  for (char c : key) ok = ok && (IsAlpha(c) || IsDigit(c) || c == '_');
  if (!ok)
    return absl::InvalidArgumentError(absl::StrCat(
        "label ", Quoted(key),
        ": not a Prometheus label name (letters, digits and '_', not starting with a digit)"));
  if (key.substr(0, 2) == "__")
    return absl::InvalidArgumentError(
        absl::StrCat("label ", Quoted(key), ": names starting with __ are Prometheus'"));
  for (std::string_view reserved : kReservedKeys) {
    if (key == reserved)
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", Quoted(key),
          " is reserved (udpbeat and Prometheus set target, state, direction, path, src_port, "
          "le, job and instance)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TargetLine>> ParseTargets(std::string_view text,
                                                     std::string_view origin) {
  std::vector<TargetLine> out;
  absl::flat_hash_map<std::string, int> seen;  // target -> its line
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    std::vector<std::string_view> fields;
    for (size_t i = 0; i < line.size();) {
      if (IsBlank(line[i])) {
        ++i;
        continue;
      }
      if (line[i] == '#') break;  // a comment, to the end of the line
      size_t j = i;
      while (j < line.size() && !IsBlank(line[j])) ++j;
      std::string_view field = line.substr(i, j - i);
      if (field.find('#') != std::string_view::npos)
        return absl::InvalidArgumentError(
            absl::StrCat(At(origin, line_no), "'#' inside ", Quoted(field),
                         ": a comment starts after a space or tab"));
      fields.push_back(field);
      i = j;
    }
    if (fields.empty()) continue;

    TargetLine t;
    t.target = std::string(fields[0]);
    t.line = line_no;
    if (fields[0].find('=') != std::string_view::npos)
      return absl::InvalidArgumentError(absl::StrCat(
          At(origin, line_no), "the line starts with ", Quoted(fields[0]),
          ", not a target (write HOST[:PORT] key=value ...)"));
    if (absl::Status s = CheckTarget(fields[0]); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat(At(origin, line_no), s.message()));
    for (size_t k = 1; k < fields.size(); ++k) {
      const size_t eq = fields[k].find('=');
      if (eq == std::string_view::npos)
        return absl::InvalidArgumentError(
            absl::StrCat(At(origin, line_no), Quoted(fields[k]),
                         " is not key=value (one target a line: HOST[:PORT] key=value ...)"));
      std::string_view key = fields[k].substr(0, eq);
      std::string_view value = fields[k].substr(eq + 1);
      absl::Status s = CheckLabelKey(key);
      if (s.ok()) s = CheckLabelValue(key, value);
      if (!s.ok())
        return absl::InvalidArgumentError(absl::StrCat(At(origin, line_no), s.message()));
      for (const auto& [k2, v2] : t.labels) {
        if (k2 == key)
          return absl::InvalidArgumentError(absl::StrCat(
              At(origin, line_no), "label ", Quoted(key), " is given twice"));
      }
      t.labels.emplace_back(std::string(key), std::string(value));
    }
    if (auto [it, inserted] = seen.try_emplace(t.target, line_no); !inserted)
      return absl::InvalidArgumentError(absl::StrCat(At(origin, line_no), "target ",
                                                     Quoted(t.target),
                                                     " is already listed on line ", it->second));
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<std::vector<TargetLine>> LoadTargetsFile(const std::string& path) {
  const std::string what = absl::StrCat("targets file ", path);
  UniqueFd fd(UniqueFd::kAdopt, ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, what);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return absl::ErrnoToStatus(errno, what);
  if (S_ISDIR(st.st_mode)) return absl::ErrnoToStatus(EISDIR, what);
  std::string text;
  char buf[64 << 10];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, what);
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxTargetsFileBytes)
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": larger than ", kMaxTargetsFileBytes >> 20, " MiB"));
    text.append(buf, static_cast<size_t>(n));
  }
  return ParseTargets(text, path);
}

absl::Status AppendTargets(std::vector<TargetLine>& targets, std::vector<TargetLine> more,
                           std::string_view origin) {
  // Checked in full before anything is appended, so a refused batch leaves `targets` as
  // it was.
  absl::flat_hash_map<std::string, int> seen;
  for (const TargetLine& t : targets) seen.try_emplace(t.target, t.line);
  for (const TargetLine& t : more) {
    if (auto [it, inserted] = seen.try_emplace(t.target, t.line); !inserted) {
      std::string where = t.line > 0 ? At(origin, t.line) : std::string();
      return absl::InvalidArgumentError(absl::StrCat(
          where, "target ", Quoted(t.target),
          it->second == 0 ? (t.line == 0 ? " is given twice" : " is also given on the command line")
                          : absl::StrCat(" is already listed on line ", it->second)));
    }
  }
  for (TargetLine& t : more) targets.push_back(std::move(t));
  return absl::OkStatus();
}

}  // namespace udpbeat
