// `hakfuzz bench`: the embedded pool (v1 and v2 routes, stats compiled out)
// against glibc and the peer allocators on the seeded workloads W1-W4, every
// measurement in its own fork()ed child, interleaved A B C ... with the
// starting allocator rotated each rep so slow phases of a noisy machine
// spread across allocators instead of landing on one.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/allocators.h"
#include "bench/fork_measure.h"
#include "bench/sample_stats.h"
#include "bench/workloads.h"
#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"

namespace hakfuzz::cli {

namespace {

constexpr const char* kReexecMark = "HAKFUZZ_BENCH_REEXEC";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ",") + x;
  return s;
}

// jemalloc's static-TLS trap: the tunable only counts at process start, so
// the process re-executes itself once with it set. Returns only when no
// re-exec is needed or it failed (jemalloc is then skipped with dlopen's note).
void reexec_with_static_tls() {
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
  std::string value =
      tun && *tun ? std::string(tun) + ":" + bench::kStaticTlsTunable : bench::kStaticTlsTunable;
  ::setenv("GLIBC_TUNABLES", value.c_str(), 1);
  ::setenv(kReexecMark, "1", 1);
  std::cout.flush();
  ::execv("/proc/self/exe", argv.data());
}

// One (workload, allocator) entry of the table: its measurements.
struct Measured {
  std::vector<double> mops;
  double peak_rss_mib = 0;
  std::uint64_t digest = 0;
  bool digest_mismatch = false;
};

}  // namespace

po::options_description bench_options() {
  po::options_description d("bench options");
  std::vector<std::string> all_w, all_a;
  for (const auto& w : bench::workload_table()) all_w.push_back(w.key);
  for (const auto& a : bench::allocator_table()) all_a.push_back(a.name);
  // clang-format off
  d.add_options()
      ("reps", number<int>("reps", 5, 1, 100), "measurements per (workload, allocator)")
      ("workloads", po::value<std::string>()->default_value(join(all_w))->value_name("LIST"),
       "comma-separated: W1 mid-random-mixed, W2 fixed 8 KiB, W3 remote-free 2T, W4 64 Ki slots")
      ("allocators", po::value<std::string>()->default_value(join(all_a))->value_name("LIST"), "comma-separated allocators")
      ("steps", number<std::uint64_t>("steps", bench::kDefaultSteps, 100, 1'000'000'000),
       "ops per measurement (W3: N/4 produced blocks, 4 ops each)")
      ("seed", number<std::uint64_t>("seed", 1, 0, UINT64_MAX, "S"), "workload seed (SplitMix64)")
      ("json", po::value<std::string>()->value_name("FILE"), "write every measurement and the summary to FILE");
  // clang-format on
  return d;
}

int run_bench(const po::variables_map& vm) {
  const int reps = get<int>(vm, "reps");
  const std::uint64_t steps = get<std::uint64_t>(vm, "steps"), seed = get<std::uint64_t>(vm, "seed");
  std::vector<const bench::WorkloadSpec*> workloads;
  for (const auto& k : split_list(vm["workloads"].as<std::string>())) {
    const auto* w = bench::find_workload(k);
    if (!w) throw UsageError("--workloads: unknown workload '" + k + "' (W1, W2, W3, W4)");
    workloads.push_back(w);
  }
  std::vector<const bench::AllocatorSpec*> allocs;
  for (const auto& k : split_list(vm["allocators"].as<std::string>())) {
    const auto* a = bench::find_allocator(k);
    if (!a) throw UsageError("--allocators: unknown allocator '" + k + "'");
    allocs.push_back(a);
  }
  if (workloads.empty() || allocs.empty())
    throw UsageError("--workloads and --allocators must name at least one");
  std::string json_path = vm.count("json") ? vm["json"].as<std::string>() : "";
  if (!json_path.empty() && !std::ofstream(json_path, std::ios::app))
    throw UsageError(fmt::format("--json {}: cannot write: {}", json_path, std::strerror(errno)));
  for (const auto* a : allocs)
    if (std::string_view(a->name) == "jemalloc") reexec_with_static_tls();

  std::vector<std::string> wnames, anames;
  for (const auto* w : workloads) wnames.push_back(w->key);
  for (const auto* a : allocs) anames.push_back(a->name);
  const std::string build = build_info();
  std::cout << fmt::format(
                   "hakfuzz bench: seed={} steps={} reps={} workloads={} allocators={} mode=fork "
                   "pool=stats_off (v1: HAKMEM_POOL_V2_ENABLED=0; v2: =1, CLASSES=0x7F) build {}\n",
                   seed, steps, reps, join(wnames), join(anames), build)
            << std::flush;

  std::map<std::string, std::string> skipped;  // allocator -> why
  std::map<std::pair<std::size_t, std::size_t>, Measured> cells;
  std::string failures;
  nlohmann::json runs = nlohmann::json::array();
  // A progress line on a terminal only: logs and pipes get the table alone.
  const bool progress = ::isatty(STDERR_FILENO) != 0;
  const std::size_t total = static_cast<std::size_t>(reps) * workloads.size() * allocs.size();
  std::size_t done = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (std::size_t wi = 0; wi < workloads.size(); ++wi) {
      for (std::size_t k = 0; k < allocs.size(); ++k) {
        std::size_t ai = (k + static_cast<std::size_t>(rep)) % allocs.size();
        const auto& a = *allocs[ai];
        if (skipped.count(a.name)) continue;
        if (progress)
          std::cerr << fmt::format("\r[{}/{}] {} {}\x1b[K", ++done, total, workloads[wi]->key, a.name)
                    << std::flush;
        bench::Measurement m = bench::measure_in_child(a, workloads[wi]->id, steps, seed);
        if (m.status == bench::Measurement::Status::unavailable) {
          skipped[a.name] = m.note;
          std::cout << fmt::format("note: {} skipped: {}\n", a.name, m.note);
          continue;
        }
        if (m.status == bench::Measurement::Status::failed) {
          failures += fmt::format("  {} {} rep {}: {}\n", workloads[wi]->key, a.name, rep + 1, m.note);
          continue;
        }
        Measured& c = cells[{wi, ai}];
        c.mops.push_back(m.run.mops());
        c.peak_rss_mib = std::max(c.peak_rss_mib, m.peak_rss_mib);
        if (c.mops.size() > 1 && c.digest != m.run.digest) c.digest_mismatch = true;
        c.digest = m.run.digest;
        runs.push_back({{"rep", rep + 1},
                        {"workload", workloads[wi]->key},
                        {"allocator", a.name},
                        {"mops", m.run.mops()},
                        {"ops", m.run.ops},
                        {"seconds", m.run.seconds},
                        {"digest", m.run.digest},
                        {"peak_rss_mib", m.peak_rss_mib}});
      }
    }
  }

  if (progress) std::cerr << "\r\x1b[K" << std::flush;
  // Table: one row per (workload, allocator), ratio of medians to glibc.
  nlohmann::json summary = nlohmann::json::array();
  bool digests_agree = true;
  std::cout << fmt::format("\n{:<4} {:<32} {:<10} {:>9} {:>9} {:>9} {:>9} {:>10}\n", "", "workload",
                           "allocator", "median", "min", "max", "vs glibc", "peak RSS");
  std::cout << fmt::format("{:<4} {:<32} {:<10} {:>9} {:>9} {:>9} {:>9} {:>10}\n", "", "", "", "Mops/s",
                           "Mops/s", "Mops/s", "", "MiB");
  for (std::size_t wi = 0; wi < workloads.size(); ++wi) {
    double glibc = 0;
    std::uint64_t digest = 0;
    for (std::size_t ai = 0; ai < allocs.size(); ++ai)
      if (std::string_view(allocs[ai]->name) == "glibc" && cells.count({wi, ai}))
        glibc = bench::spread_of(cells[{wi, ai}].mops).median;
    for (std::size_t ai = 0; ai < allocs.size(); ++ai) {
      if (!cells.count({wi, ai})) continue;
      const Measured& c = cells[{wi, ai}];
      bench::Spread s = bench::spread_of(c.mops);
      if (digest && c.digest != digest) digests_agree = false;
      digest = c.digest;
      if (c.digest_mismatch) digests_agree = false;
      std::string ratio = glibc > 0 ? fmt::format("{:.2f}x", s.median / glibc) : "-";
      std::cout << fmt::format("{:<4} {:<32} {:<10} {:>9.2f} {:>9.2f} {:>9.2f} {:>9} {:>10.1f}\n",
                               workloads[wi]->key, workloads[wi]->title, allocs[ai]->name, s.median, s.min,
                               s.max, ratio, c.peak_rss_mib);
      summary.push_back({{"workload", workloads[wi]->key},
                         {"title", workloads[wi]->title},
                         {"allocator", allocs[ai]->name},
                         {"median_mops", s.median},
                         {"min_mops", s.min},
                         {"max_mops", s.max},
                         {"ratio_vs_glibc", glibc > 0 ? nlohmann::json(s.median / glibc) : nlohmann::json()},
                         {"peak_rss_mib", c.peak_rss_mib},
                         {"digest", c.digest}});
    }
  }
  std::cout << "\npeak RSS: the fork()ed child's ru_maxrss, including the binary's baseline of a few MiB.\n";
  for (const auto& [name, why] : skipped) std::cout << fmt::format("skipped {}: {}\n", name, why);
  if (!digests_agree) std::cout << "warning: allocators saw different op sequences (digest mismatch)\n";
  if (!failures.empty()) std::cout << "failed measurements:\n" << failures;

  if (!json_path.empty()) {
    nlohmann::json j = {{"command", "bench"},  {"seed", seed},
                        {"steps", steps},      {"reps", reps},
                        {"mode", "fork"},      {"build", build},
                        {"workloads", wnames}, {"allocators", anames},
                        {"skipped", skipped},  {"digests_agree", digests_agree},
                        {"summary", summary},  {"runs", runs}};
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  // A child that crashed or returned nothing is a finding: the pool (or a
  // peer) broke under the workload.
  return failures.empty() && digests_agree ? kExitClean : kExitFinding;
}

}  // namespace hakfuzz::cli
