#include "bench/run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string_view>
#include <utility>

#include "bench/fork_measure.h"

namespace hakfuzz::bench {

namespace {

constexpr const char* kReexecMark = "HAKFUZZ_BENCH_REEXEC";

// One (workload, allocator) entry of the table: its measurements.
struct Measured {
  std::vector<double> mops;
  double peak_rss_mib = 0;
  std::uint64_t digest = 0;
  bool digest_mismatch = false;
};

// Cells by (workload index, allocator index) in the spec.
using Cells = std::map<std::pair<std::size_t, std::size_t>, Measured>;

void record(Measured& c, const Measurement& m) {
  c.mops.push_back(m.run.mops());
  c.peak_rss_mib = std::max(c.peak_rss_mib, m.peak_rss_mib);
  if (c.mops.size() > 1 && c.digest != m.run.digest) c.digest_mismatch = true;
  c.digest = m.run.digest;
}

nlohmann::json run_json(int rep, const WorkloadSpec& w, const AllocatorSpec& a, const Measurement& m) {
  return {{"rep", rep + 1},         {"workload", w.key},
          {"allocator", a.name},    {"mops", m.run.mops()},
          {"ops", m.run.ops},       {"seconds", m.run.seconds},
          {"digest", m.run.digest}, {"peak_rss_mib", m.peak_rss_mib}};
}

Cells measure_all(const BenchSpec& spec, const BenchObserver& observer, BenchReport& report) {
  Cells cells;
  const std::size_t n_alloc = spec.allocators.size();
  const std::size_t total = static_cast<std::size_t>(spec.reps) * spec.workloads.size() * n_alloc;
  std::size_t done = 0;
  for (int rep = 0; rep < spec.reps; ++rep) {
    for (std::size_t wi = 0; wi < spec.workloads.size(); ++wi) {
      const WorkloadSpec& w = *spec.workloads[wi];
      for (std::size_t k = 0; k < n_alloc; ++k) {
        const std::size_t ai = (k + static_cast<std::size_t>(rep)) % n_alloc;
        const AllocatorSpec& a = *spec.allocators[ai];
        if (report.skipped.count(a.name)) continue;
        if (observer.measuring) observer.measuring(++done, total, w, a);
        const Measurement m = measure_in_child(a, w.id, spec.steps, spec.seed);
        if (m.status == Measurement::Status::unavailable) {
          report.skipped[a.name] = m.note;
          if (observer.skipping) observer.skipping(a, m.note);
          continue;
        }
        if (m.status == Measurement::Status::failed) {
          report.failures.push_back(fmt::format("{} {} rep {}: {}", w.key, a.name, rep + 1, m.note));
          continue;
        }
        record(cells[{wi, ai}], m);
        report.runs.push_back(run_json(rep, w, a, m));
      }
    }
  }
  return cells;
}

// The table, one row per (workload, allocator) measured, with the ratio of
// medians to glibc's; and whether every allocator of a workload saw the
// same op sequence.
void build_rows(const BenchSpec& spec, const Cells& cells, BenchReport& report) {
  for (std::size_t wi = 0; wi < spec.workloads.size(); ++wi) {
    double glibc = 0;
    std::uint64_t digest = 0;
    for (std::size_t ai = 0; ai < spec.allocators.size(); ++ai)
      if (std::string_view(spec.allocators[ai]->name) == "glibc" && cells.count({wi, ai}))
        glibc = spread_of(cells.at({wi, ai}).mops).median;
    for (std::size_t ai = 0; ai < spec.allocators.size(); ++ai) {
      if (!cells.count({wi, ai})) continue;
      const Measured& c = cells.at({wi, ai});
      const Spread s = spread_of(c.mops);
      if (digest && c.digest != digest) report.digests_agree = false;
      digest = c.digest;
      if (c.digest_mismatch) report.digests_agree = false;
      report.rows.push_back({spec.workloads[wi], spec.allocators[ai], s,
                             glibc > 0 ? std::optional<double>(s.median / glibc) : std::nullopt,
                             c.peak_rss_mib, c.digest});
    }
  }
}

}  // namespace

BenchReport run_bench(const BenchSpec& spec, const BenchObserver& observer) {
  BenchReport report;
  const Cells cells = measure_all(spec, observer, report);
  build_rows(spec, cells, report);
  return report;
}

std::string bench_table(const BenchReport& report) {
  std::string out = fmt::format("{:<4} {:<32} {:<10} {:>9} {:>9} {:>9} {:>9} {:>10}\n", "", "workload",
                                "allocator", "median", "min", "max", "vs glibc", "peak RSS");
  out += fmt::format("{:<4} {:<32} {:<10} {:>9} {:>9} {:>9} {:>9} {:>10}\n", "", "", "", "Mops/s", "Mops/s",
                     "Mops/s", "", "MiB");
  for (const BenchRow& r : report.rows) {
    const std::string ratio = r.vs_glibc ? fmt::format("{:.2f}x", *r.vs_glibc) : "-";
    out += fmt::format("{:<4} {:<32} {:<10} {:>9.2f} {:>9.2f} {:>9.2f} {:>9} {:>10.1f}\n", r.workload->key,
                       r.workload->title, r.allocator->name, r.mops.median, r.mops.min, r.mops.max, ratio,
                       r.peak_rss_mib);
  }
  return out;
}

nlohmann::json bench_json(const BenchSpec& spec, const BenchReport& report, const std::string& build) {
  std::vector<std::string> wnames, anames;
  for (const auto* w : spec.workloads) wnames.push_back(w->key);
  for (const auto* a : spec.allocators) anames.push_back(a->name);
  nlohmann::json summary = nlohmann::json::array();
  for (const BenchRow& r : report.rows)
    summary.push_back({{"workload", r.workload->key},
                       {"title", r.workload->title},
                       {"allocator", r.allocator->name},
                       {"median_mops", r.mops.median},
                       {"min_mops", r.mops.min},
                       {"max_mops", r.mops.max},
                       {"ratio_vs_glibc", r.vs_glibc ? nlohmann::json(*r.vs_glibc) : nlohmann::json()},
                       {"peak_rss_mib", r.peak_rss_mib},
                       {"digest", r.digest}});
  return {{"command", "bench"},
          {"seed", spec.seed},
          {"steps", spec.steps},
          {"reps", spec.reps},
          {"mode", "fork"},
          {"build", build},
          {"workloads", wnames},
          {"allocators", anames},
          {"skipped", report.skipped},
          {"digests_agree", report.digests_agree},
          {"summary", summary},
          {"runs", report.runs}};
}

void reexec_for_static_tls(const BenchSpec& spec) {
  if (std::ranges::none_of(spec.allocators,
                           [](const AllocatorSpec* a) { return std::string_view(a->name) == "jemalloc"; }))
    return;
  const char* tun = std::getenv("GLIBC_TUNABLES");
  if (std::getenv(kReexecMark) || (tun && std::strstr(tun, "optional_static_tls"))) return;
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> words;
  for (std::size_t i = 0; i < raw.size();) {
    std::size_t end = raw.find('\0', i);
    if (end == std::string::npos) end = raw.size();
    words.push_back(raw.substr(i, end - i));
    i = end + 1;
  }
  if (words.empty()) return;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const std::string value =
      tun && *tun ? std::string(tun) + ":" + kStaticTlsTunable : std::string(kStaticTlsTunable);
  ::setenv("GLIBC_TUNABLES", value.c_str(), 1);
  ::setenv(kReexecMark, "1", 1);
  std::cout.flush();
  ::execv("/proc/self/exe", argv.data());
}

}  // namespace hakfuzz::bench
