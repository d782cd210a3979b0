#include "targets.h"

namespace hakfuzz {

namespace {

std::string single_text(std::span<const std::uint8_t> in) { return to_text(decode(in)); }
std::string multi_text(std::span<const std::uint8_t> in) { return to_text(decode(in, true)); }

std::vector<std::uint8_t> single_bytes(const std::string& text) {
  Program p = parse_text(text);
  if (p.threads != 1)
    throw std::invalid_argument("trace: this target takes a single-thread program (no threads=)");
  return encode(p);
}
std::vector<std::uint8_t> multi_bytes(const std::string& text) {
  Program p = parse_text(text);
  if (p.threads < 2)
    throw std::invalid_argument("trace: the remote target needs 'threads=2..8' on the config line");
  return encode(p);
}

}  // namespace

TargetRun to_target_run(RunResult r) { return {std::move(r.finding), r.digest, std::move(r.trace)}; }

const std::vector<Target>& targets() {
  static const std::vector<Target> table = {
      {"ops", "single-thread ops (alloc, free, bad frees, refresh, faults, checks) against the model",
       run_ops_target, single_text, single_bytes},
      {"page_of", "the ops program with page_of probed at crafted addresses around every block",
       run_page_of_target, single_text, single_bytes},
      {"remote", "deterministic schedules of 2..8 real threads: remote frees, thread exit, adoption",
       run_remote_target, multi_text, multi_bytes},
      {"stats_diff", "stats compiled out vs in, HAKMEM_POOL_V2_STATS 0 vs 1: identical op for op",
       run_stats_diff_target, single_text, single_bytes},
      {"env", "arbitrary env strings: strict parsing vs the flag table, refresh_from_env() mid-run",
       run_env_target, env_input_to_text, env_input_from_text},
  };
  return table;
}

const Target* find_target(std::string_view name) {
  for (const Target& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace hakfuzz
