#include "stress/failure_report.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fuzz/user_error.h"

namespace hakfuzz::stress {

std::string replay_path_for(const std::string& report_path) {
  const auto slash = report_path.find_last_of('/');
  const auto dot = report_path.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_ext ? report_path.substr(0, dot) : report_path) + ".remote";
}

void write_failure_report(const std::string& path, const RunHeader& header, const StressSpec& spec,
                          const StressResult& result, const Replay& replay, const std::string& replay_file,
                          const ReplayVerdict& verdict) {
  using nlohmann::json;
  json workers = json::array();
  for (std::size_t w = 0; w < result.last_ops.size(); ++w) {
    json ops = json::array();
    for (const LoggedOp& op : result.last_ops[w]) ops.push_back(describe_op(op));
    workers.push_back({{"worker", w}, {"last_ops", ops}});
  }
  json findings = json::array();
  for (const Finding& f : result.findings)
    findings.push_back({{"kind", finding_kind_name(f.kind)}, {"op", f.op_index}, {"what", f.what}});
  json rounds = json::array();
  for (const RoundReport& r : result.rounds)
    rounds.push_back({{"round", r.round},
                      {"allocs", r.allocs},
                      {"frees", r.frees},
                      {"live_blocks", r.live_blocks},
                      {"live_bytes", r.live_bytes},
                      {"remote_frees", r.remote_frees},
                      {"remote_pending", r.remote_pending},
                      {"rss_kb", r.rss_kb}});
  json doc = {
      {"seed", header.seed},
      {"config", header.config},
      {"flavour", header.flavour},
      {"plant", header.plant},
      {"build", header.build},
      {"spec",
       {{"mode", stress_mode_name(spec.mode)},
        {"threads", spec.threads},
        {"seconds", spec.seconds},
        {"ops", spec.ops},
        {"size_mix", size_mix_name(spec.mix)},
        {"remote_ratio", spec.remote_ratio},
        {"working_set", spec.working_set},
        {"rounds", spec.rounds}}},
      {"findings", findings},
      {"workers", workers},
      {"rounds", rounds},
      {"peak_rss_kb", result.peak_rss_kb},
      {"final_rss_kb", result.final_rss_kb},
      {"rss_verdict", result.rss_verdict},
      {"replay",
       {{"file", replay_file},
        {"target", "remote"},
        {"schedule_ops", replay.program.ops.size()},
        {"schedule_threads", replay.program.threads},
        {"logged_ops_in_window", result.window.size()},
        {"approximations", replay.approximations},
        {"reproduced", verdict.reproduced},
        {"replay_finding", verdict.finding},
        {"how", "hakfuzz repro --target remote " + replay_file}}},
  };
  std::ofstream out(path);
  if (!out) throw UserError("cannot write " + path);
  out << doc.dump(2) << "\n";
  if (!out) throw UserError("cannot write " + path);
}

}  // namespace hakfuzz::stress
