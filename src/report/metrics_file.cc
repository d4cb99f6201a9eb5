#include "udpbeat/report/metrics_file.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/output_file.h"

namespace udpbeat {
namespace {

// Label values escape backslash, double quote and newline (exposition format spec).
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(&text_, "# HELP ", AbslView(name), " ", AbslView(help), "\n# TYPE ",
                  AbslView(name), " ", AbslView(type), "\n");
}

void MetricsText::Sample(std::string_view name, const MetricLabels& labels, double value) {
  absl::StrAppend(&text_, AbslView(name));
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&text_, i > 0 ? "," : "", labels[i].first, "=\"",
                      Escape(labels[i].second), "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view text) {
  return WriteOutputFile(path, text);
}

}  // namespace udpbeat
