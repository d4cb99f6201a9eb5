#include "udpbeat/report/svg_plot.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "udpbeat/base/output_file.h"

namespace udpbeat {
namespace {

constexpr double kWidth = 900, kPanelHeight = 260, kMargin = 60, kGap = 70;

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `v`.
double NiceCeil(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

std::string Axis(double x0, double y0, double w, double h, double xmax, double ymax,
                 const char* xlabel, const char* ylabel) {
  std::string s = absl::StrFormat(
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
      "stroke=\"#888\"/>\n",
      x0, y0, w, h);
  for (int i = 0; i <= 4; ++i) {
    const double fy = y0 + h - h * i / 4, fx = x0 + w * i / 4;
    absl::StrAppendFormat(&s,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g"
                          "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                          "text-anchor=\"middle\">%g</text>\n",
                          x0 - 6, fy + 4, ymax * i / 4, fx, y0 + h + 16, xmax * i / 4);
  }
  absl::StrAppendFormat(&s,
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%s"
                        "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
                        "transform=\"rotate(-90 %.1f %.1f)\" text-anchor=\"middle\">%s</text>\n",
                        x0 + w / 2, y0 + h + 34, xlabel, x0 - 44, y0 + h / 2, x0 - 44,
                        y0 + h / 2, ylabel);
  return s;
}

}  // namespace

void PlotRecorder::AddRtt(Nanos at, Nanos rtt) {
  if (seen_++ % stride_ != 0) return;
  rtts_.push_back({at, rtt});
  if (rtts_.size() > kMaxPoints) Thin();
}

void PlotRecorder::AddTimeout(Nanos at) {
  if (timeouts_.size() < kMaxPoints) timeouts_.push_back(at);
}

void PlotRecorder::Thin() {
  size_t j = 0;
  for (size_t i = 0; i < rtts_.size(); i += 2) rtts_[j++] = rtts_[i];
  rtts_.resize(j);
  stride_ *= 2;
}

std::string PlotRecorder::Render(const std::string& title, const stats::LogHistogram& rtt) const {
  const double w = kWidth - 2 * kMargin;
  const double height = 2 * kPanelHeight + kGap + 2 * kMargin;
  Nanos t_max = 1;
  double rtt_max = 0;
  for (const Point& p : rtts_) {
    t_max = std::max(t_max, p.at);
    rtt_max = std::max(rtt_max, static_cast<double>(p.rtt) / 1e6);
  }
  for (Nanos t : timeouts_) t_max = std::max(t_max, t);
  const double xmax = NiceCeil(static_cast<double>(t_max) / 1e9);
  const double ymax = NiceCeil(rtt_max);

  std::string s = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
      "<title>%s</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.1f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
      kWidth, height, kWidth, height, XmlEscape(title), kWidth / 2, XmlEscape(title));

  // Panel 1: RTT over time, timeouts as red ticks along the top edge.
  const double y0 = kMargin;
  s += Axis(kMargin, y0, w, kPanelHeight, xmax, ymax, "time since start (s)", "RTT (ms)");
  s += "<g id=\"rtt-series\" fill=\"#1f77b4\">\n";
  for (const Point& p : rtts_) {
    const double x = kMargin + w * (static_cast<double>(p.at) / 1e9) / xmax;
    const double y = y0 + kPanelHeight - kPanelHeight * (static_cast<double>(p.rtt) / 1e6) / ymax;
    absl::StrAppendFormat(&s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\"/>\n", x, y);
  }
  s += "</g>\n<g id=\"timeouts\" stroke=\"#d62728\" stroke-width=\"1.5\">\n";
  for (Nanos t : timeouts_) {
    const double x = kMargin + w * (static_cast<double>(t) / 1e9) / xmax;
    absl::StrAppendFormat(&s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
                          y0, x, y0 + 12);
  }
  s += "</g>\n";

  // Panel 2: the distribution, the histogram's buckets summed into equal-width bars.
  constexpr int kBars = 80;
  const double y1 = kMargin + kPanelHeight + kGap;
  const double dmax = NiceCeil(static_cast<double>(rtt.max()) / 1e6);
  std::vector<uint64_t> bars(kBars, 0);
  rtt.ForEachBucket([&](int64_t low, int64_t high, uint64_t c) {
    const double mid_ms = (static_cast<double>(low) + static_cast<double>(high)) / 2e6;
    bars[std::clamp(static_cast<int>(mid_ms / dmax * kBars), 0, kBars - 1)] += c;
  });
  const uint64_t max_count = std::max<uint64_t>(1, *std::max_element(bars.begin(), bars.end()));
  s += Axis(kMargin, y1, w, kPanelHeight, dmax, static_cast<double>(NiceCeil(max_count)),
            "RTT (ms)", "replies");
  s += "<g id=\"distribution\" fill=\"#2ca02c\">\n";
  const double bw = w / kBars;
  for (int i = 0; i < kBars; ++i) {
    if (bars[i] == 0) continue;
    const double bh = kPanelHeight * static_cast<double>(bars[i]) / NiceCeil(max_count);
    absl::StrAppendFormat(&s,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
                          kMargin + bw * i, y1 + kPanelHeight - bh, bw * 0.9, bh);
  }
  s += "</g>\n</svg>\n";
  return s;
}

absl::Status PlotRecorder::WriteSvg(const std::string& path, const std::string& title,
                                    const stats::LogHistogram& rtt) const {
  return WriteOutputFile(path, Render(title, rtt));
}

}  // namespace udpbeat
