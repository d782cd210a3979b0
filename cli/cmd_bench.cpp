// `hakfuzz bench`: the embedded pool (v1 and v2 routes, stats compiled out)
// against glibc and the peer allocators on the seeded workloads W1-W4
// (bench/run.h runs the experiment; this file reads its options and prints
// its table).
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "bench/run.h"
#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"

namespace hakfuzz::cli {

namespace {

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

bench::BenchSpec bench_spec(const po::variables_map& vm) {
  bench::BenchSpec spec;
  spec.reps = get<int>(vm, "reps");
  spec.steps = get<std::uint64_t>(vm, "steps");
  spec.seed = get<std::uint64_t>(vm, "seed");
  for (const auto& k : split_list(vm["workloads"].as<std::string>())) {
    const auto* w = bench::find_workload(k);
    if (!w) throw UsageError("--workloads: unknown workload '" + k + "' (W1, W2, W3, W4)");
    spec.workloads.push_back(w);
  }
  for (const auto& k : split_list(vm["allocators"].as<std::string>())) {
    const auto* a = bench::find_allocator(k);
    if (!a) throw UsageError("--allocators: unknown allocator '" + k + "'");
    spec.allocators.push_back(a);
  }
  if (spec.workloads.empty() || spec.allocators.empty())
    throw UsageError("--workloads and --allocators must name at least one");
  return spec;
}

void print_footnotes(const bench::BenchReport& report) {
  std::cout << "\npeak RSS: the fork()ed child's ru_maxrss, including the binary's baseline of a few MiB.\n";
  for (const auto& [name, why] : report.skipped) std::cout << fmt::format("skipped {}: {}\n", name, why);
  if (!report.digests_agree)
    std::cout << "warning: allocators saw different op sequences (digest mismatch)\n";
  if (!report.failures.empty()) {
    std::cout << "failed measurements:\n";
    for (const std::string& f : report.failures) std::cout << "  " << f << "\n";
  }
}

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
  const bench::BenchSpec spec = bench_spec(vm);
  const std::string json_path = vm.count("json") ? vm["json"].as<std::string>() : "";
  if (!json_path.empty()) probe_output_file(json_path, "--json " + json_path, ParentDir::must_exist);
  bench::reexec_for_static_tls(spec);

  std::vector<std::string> wnames, anames;
  for (const auto* w : spec.workloads) wnames.push_back(w->key);
  for (const auto* a : spec.allocators) anames.push_back(a->name);
  const std::string build = build_info();
  std::cout << fmt::format(
                   "hakfuzz bench: seed={} steps={} reps={} workloads={} allocators={} mode=fork "
                   "pool=stats_off (v1: HAKMEM_POOL_V2_ENABLED=0; v2: =1, CLASSES=0x7F) build {}\n",
                   spec.seed, spec.steps, spec.reps, join(wnames), join(anames), build)
            << std::flush;

  // A progress line on a terminal only: logs and pipes get the table alone.
  const bool progress = ::isatty(STDERR_FILENO) != 0;
  bench::BenchObserver observer;
  if (progress)
    observer.measuring = [](std::size_t done, std::size_t total, const bench::WorkloadSpec& w,
                            const bench::AllocatorSpec& a) {
      std::cerr << fmt::format("\r[{}/{}] {} {}\x1b[K", done, total, w.key, a.name) << std::flush;
    };
  observer.skipping = [](const bench::AllocatorSpec& a, const std::string& why) {
    std::cout << fmt::format("note: {} skipped: {}\n", a.name, why);
  };
  const bench::BenchReport report = bench::run_bench(spec, observer);
  if (progress) std::cerr << "\r\x1b[K" << std::flush;

  std::cout << "\n" << bench::bench_table(report);
  print_footnotes(report);
  if (!json_path.empty())
    write_output_file(json_path, bench::bench_json(spec, report, build).dump(2) + "\n",
                      "--json " + json_path);
  return report.clean() ? kExitClean : kExitFinding;
}

}  // namespace hakfuzz::cli
