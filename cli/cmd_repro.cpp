// `hakfuzz repro FILE|DIR...`: replays each input --runs times (CIFuzz-style
// reproducibility k/N) and checks determinism: every run must give the same
// verdict and the same behaviour digest, else that is a finding of its own.
#include <fmt/format.h>

#include <iostream>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "fuzz/engine.h"
#include "fuzz/inputs.h"
#include "oracle/plants.h"

namespace hakfuzz::cli {

po::options_description repro_options() {
  po::options_description d("repro options");
  d.add_options()("target", po::value<std::string>(),
                  "fuzz target (default: from the path, e.g. corpus/ops/...)")(
      "trace", po::bool_switch(), "print the decoded input and the op trace of the first run")(
      "runs", number<int>("runs", 3, 1, 1000), "replays per input")("plant", po::value<std::string>(),
                                                                    plant_help().c_str())(
      "weaken", po::value<std::string>()->value_name("POINT:ORDER"),
      "(interleave inputs) run one schedule point's atomics with a weaker order in the memory model, as "
      "`hakfuzz audit-atomics` found a counterexample with");
  return d;
}

int run_repro(const po::variables_map& vm) {
  if (!vm.count("inputs")) throw UsageError("give at least one FILE or DIR");
  const int runs = get<int>(vm, "runs");
  std::optional<std::string> target_flag;
  if (vm.count("target")) target_flag = vm["target"].as<std::string>();
  auto files = collect_inputs(vm["inputs"].as<std::vector<std::string>>());
  if (vm.count("plant"))
    for (const auto& file : files)
      set_plant(vm["plant"].as<std::string>(), resolve_target(target_flag, file).name);
  if (vm.count("weaken")) set_weakening(vm["weaken"].as<std::string>());
  std::cout << fmt::format("hakfuzz repro: {} input(s), {} run(s) each; {}\n", files.size(), runs,
                           build_info());
  int findings = 0;
  for (const auto& file : files) {
    const Target& t = resolve_target(target_flag, file);
    auto bytes = read_bytes(file);
    if (vm["trace"].as<bool>())
      std::cout << "--- input (" << t.name << ")\n" << t.to_text(bytes) << "--- ops\n";
    std::vector<RunResult> results;
    for (int i = 0; i < runs; ++i) results.push_back(t.run(bytes, vm["trace"].as<bool>() && i == 0));
    if (vm["trace"].as<bool>())
      for (const auto& line : results[0].trace) std::cout << "  " << line << "\n";
    int reproduced = 0;
    bool deterministic = true;
    // Same kind at the same op and the same digest; message texts may name
    // addresses and are not compared.
    for (const RunResult& r : results) {
      reproduced += r.finding.has_value();
      deterministic = deterministic && r.digest == results[0].digest &&
                      r.finding.has_value() == results[0].finding.has_value() &&
                      (!r.finding || (r.finding->kind == results[0].finding->kind &&
                                      r.finding->op_index == results[0].finding->op_index));
    }
    std::string label = fmt::format("{} [{}]", file.string(), t.name);
    if (!deterministic) {
      ++findings;
      std::cout << fmt::format(
          "{}: FINDING: replay is not deterministic (reproduced {}/{}, digests differ)\n", label, reproduced,
          runs);
    } else if (reproduced) {
      ++findings;
      std::cout << fmt::format("{}: FINDING reproduced {}/{}: {}\n", label, reproduced, runs,
                               results[0].finding->describe());
      print_finding(t, bytes, results[0]);
    } else {
      std::cout << fmt::format("{}: clean ({}/{} identical, digest {:016x})\n", label, runs, runs,
                               results[0].digest);
    }
  }
  std::cout << fmt::format("{} passed, {} failed\n", files.size() - findings, findings);
  return findings ? kExitFinding : kExitClean;
}

}  // namespace hakfuzz::cli
