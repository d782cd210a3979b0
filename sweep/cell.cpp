#include "sweep/cell.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "fuzz/runner.h"
#include "fuzz/seeded_program.h"
#include "hakmem/variants.h"
#include "stress/remote_stress.h"
#include "stress/rng.h"

namespace hakfuzz::sweep {

using stress::compare_counters;
using stress::mix64;
using stress::run_stress;
using stress::StressResult;

namespace {

constexpr std::size_t kArenaBytes = std::size_t{1} << 30;  // reserved only; slabs commit on use

// A pool's report stream kept in memory: the teardown stats table is part of
// what HAKMEM_POOL_V2_STATS promises, so the cell checks it.
class Captured {
 public:
  Captured() : file_(open_memstream(&buf_, &len_)) {
    if (!file_) throw std::runtime_error("open_memstream failed");
  }
  ~Captured() {
    if (file_) std::fclose(file_);
    std::free(buf_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t len_ = 0;
  std::FILE* file_;
};

hakmem::PoolOptions options(const EnvVars& env, bool process_env, std::FILE* report) {
  hakmem::PoolOptions o;
  o.env = process_env ? hakmem::process_env() : hakmem::map_env(env);
  o.arena_bytes = kArenaBytes;
  o.report = report;
  return o;
}

void check_teardown_output(CellResult& res, const std::string& text, bool table_expected, const char* phase) {
  bool printed = text.find("[pool v2 stats]") != std::string::npos;
  if (table_expected && !printed)
    res.raise(CellStatus::finding,
              fmt::format("{}: HAKMEM_POOL_V2_STATS=1 printed no stats table at teardown", phase));
  if (!table_expected && !text.empty())
    res.raise(CellStatus::finding, fmt::format("{}: unexpected pool output: {}", phase, text.substr(0, 200)));
}

template <class P>
void run_flavour(const Matrix& m, const Cell& cell, const CellOptions& opts, CellResult& res) {
  const EnvVars env = m.env(cell);
  const hakmem::Config cfg = hakmem::parse_config(hakmem::map_env(env));
  if (P::kStatsCompiled != m.stats_compiled(cell)) throw std::logic_error("flavour does not match the cell");
  if (!P::kStatsCompiled && P::stats_storage_bytes() != 0)
    res.raise(CellStatus::finding, "stats compiled out but the pool holds telemetry storage");

  // The deterministic phase: the seeded program through the runner, which
  // judges every op with the model and checks the counters at the end.
  Captured wr_out;
  const Program program = seeded_program(opts.seed, opts.ops, cfg);
  RunOptions ro{
      .flavour = flavour_of(P::kStatsCompiled), .max_ops = program.ops.size(), .report = wr_out.file()};
  if (opts.process_env) ro.env = hakmem::process_env();
  const RunResult wr = run_program(program, ro);
  check_teardown_output(res, wr_out.text(), cfg.v2_stats, "program");
  res.digest = wr.digest;
  res.has_digest = true;
  if (wr.finding) res.raise(CellStatus::finding, "program: " + wr.finding->describe());

  // A stress run whose workers fell out of lockstep (TBB did not run them
  // side by side) proves nothing about remote frees: run it once more before
  // the path-proof below may call the cell inactive.
  StressResult sr;
  std::optional<Captured> sr_out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    sr_out.emplace();
    P pool(options(env, opts.process_env, sr_out->file()));
    sr = run_stress(pool, {.threads = opts.threads, .ops = opts.ops, .seed = opts.seed ^ mix64(cell.index)});
    if (sr.concurrent) break;
  }
  check_teardown_output(res, sr_out->text(), cfg.v2_stats, "stress");
  for (auto& f : sr.findings) res.raise(CellStatus::finding, "stress: " + f);
  for (auto& f : compare_counters(sr.tally, sr.stats)) res.raise(CellStatus::finding, "stress: " + f);
  res.ops = program.ops.size() + sr.ops;

  // The seed's lesson: a cell passes only if the path its config enables ran,
  // and a path its config disables never ran.
  const std::uint8_t routed = cfg.v2_route_mask();
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    const std::string cls = fmt::format("class {} ({} KiB)", c, hakmem::kClassSizes[c] / 1024);
    if (!((routed >> c) & 1)) {
      if (wr.tally.v2_allocs[c] + sr.tally.v2_allocs[c] + wr.tally.v2_local[c] + sr.tally.v2_local[c] +
          wr.tally.v2_remote[c] + sr.tally.v2_remote[c])
        res.raise(CellStatus::finding, cls + ": used v2 though the config does not route it there");
      continue;
    }
    auto need = [&](bool ran, const char* what) {
      if (!ran)
        res.raise(CellStatus::inactive, fmt::format("{}: v2 enabled but {} never happened", cls, what));
    };
    need(wr.tally.v2_allocs[c] > 0, "a v2 allocation (program)");
    need(wr.tally.v2_local[c] > 0, "an owner free (program)");
    need(sr.tally.v2_remote[c] > 0, "a remote free (stress)");
    if (wr.stats.compiled) {
      need(wr.stats.get(c, hakmem::V2Stat::alloc_calls) > 0, "counter alloc_calls > 0");
      need(wr.stats.get(c, hakmem::V2Stat::alloc_refill) > 0, "counter alloc_refill > 0");
      need(wr.stats.get(c, hakmem::V2Stat::free_fast) > 0, "counter free_fast > 0");
    }
  }
  if (routed && sr.drained == 0)
    res.raise(CellStatus::inactive, "no remote free was ever drained by its owner");
  if (!sr.concurrent) res.notes.push_back("stress workers fell out of lockstep (a barrier timed out)");
}

}  // namespace

const char* status_name(CellStatus s) {
  switch (s) {
    case CellStatus::pass:
      return "pass";
    case CellStatus::inactive:
      return "inactive";
    case CellStatus::finding:
      return "finding";
    case CellStatus::harness_error:
      return "harness-error";
  }
  return "?";
}

void CellResult::raise(CellStatus s, std::string note) {
  if (s > status) status = s;
  notes.push_back(std::move(note));
}

CellResult run_cell(const Matrix& m, const Cell& cell, const CellOptions& opts) {
  CellResult res;
  res.cell = cell;
  auto t0 = std::chrono::steady_clock::now();
  try {
    if (m.stats_compiled(cell))
      run_flavour<hakmem::PoolStatsOn>(m, cell, opts, res);
    else
      run_flavour<hakmem::PoolStatsOff>(m, cell, opts, res);
  } catch (const std::exception& e) {
    res.raise(CellStatus::harness_error, std::string("exception: ") + e.what());
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace hakfuzz::sweep
