#include "sweep/cell.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "exec/run_program.h"
#include "explore/explore.h"
#include "oracle/pool_under_test.h"
#include "program/seeded_program.h"
#include "stress/parallel.h"
#include "support/rng.h"

namespace hakfuzz::sweep {

namespace {

constexpr std::size_t kArenaBytes = std::size_t{1} << 30;  // the stress pool's; reserved, slabs commit on use
constexpr std::size_t kStressSlots = 64;
// Each worker puts its own blocks back into the slots up to twice, so even
// with two workers most frees are remote.
constexpr int kPassOwnBack = 2;

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

void check_teardown_output(CellResult& res, const std::string& text, bool table_expected, const char* phase) {
  bool printed = text.find("[pool v2 stats]") != std::string::npos;
  if (table_expected && !printed)
    res.raise(CellStatus::finding,
              fmt::format("{}: HAKMEM_POOL_V2_STATS=1 printed no stats table at teardown", phase));
  if (!table_expected && !text.empty())
    res.raise(CellStatus::finding, fmt::format("{}: unexpected pool output: {}", phase, text.substr(0, 200)));
}

// The deterministic phase: the seeded program through the runner, which
// judges every op with the model and checks the counters at the end.
RunResult run_program_phase(const hakmem::Config& cfg, Flavour flavour, const CellOptions& opts,
                            CellResult& res) {
  Captured out;
  const Program program = seeded_program(opts.seed, opts.ops, cfg);
  RunOptions ro;
  ro.flavour = flavour;
  ro.max_ops = program.ops.size();
  ro.report = out.file();
  if (opts.process_env) ro.env = hakmem::process_env();
  RunResult wr = run_program(program, ro);
  check_teardown_output(res, out.text(), cfg.v2_stats, "program");
  res.digest = wr.digest;
  res.has_digest = true;
  res.ops += program.ops.size();
  if (wr.finding) res.raise(CellStatus::finding, "program: " + wr.finding->describe());
  return wr;
}

// The parallel phase: the parallel stress run, exchange mode, one round, class
// sizes only: it is there for v2's remote frees, and a large block's free
// takes the same path from any thread (the program phase covers large
// blocks). A run whose workers fell out of lockstep (TBB did not run them
// side by side) proves nothing about remote frees: it runs once more before
// the path proof may call the cell inactive.
stress::StressResult run_stress_phase(const EnvVars& env, const hakmem::Config& cfg, Flavour flavour,
                                      const Cell& cell, const CellOptions& opts, CellResult& res) {
  stress::StressResult sr;
  std::optional<Captured> out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    out.emplace();
    hakmem::PoolOptions o;
    o.env = opts.process_env ? hakmem::process_env() : hakmem::map_env(env);
    o.arena_bytes = kArenaBytes;
    o.arena_cache = &harness_arena_cache();
    o.report = out->file();
    std::unique_ptr<PoolUnderTest> pool = make_pool(flavour, std::move(o));
    if (attempt == 0 && !pool->stats_compiled() && pool->stats_storage_bytes() != 0)
      res.raise(CellStatus::finding, "stats compiled out but the pool holds telemetry storage");
    stress::StressSpec spec;
    spec.mode = stress::StressMode::exchange;
    spec.threads = opts.threads;
    spec.ops = opts.ops;
    spec.seed = opts.seed ^ support::mix64(cell.index);
    spec.mix = stress::SizeMix::mid;
    spec.remote_ratio = 1.0;
    spec.working_set = kStressSlots;
    spec.rounds = 1;
    spec.pass_own_back = kPassOwnBack;
    sr = stress::run_parallel(*pool, spec);
    pool.reset();  // teardown: the stats table, when asked for, goes to `out`
    if (!sr.lockstep_lost) break;
  }
  check_teardown_output(res, out->text(), cfg.v2_stats, "stress");
  res.ops += sr.ops;
  for (const Finding& f : sr.findings) res.raise(CellStatus::finding, "stress: " + f.describe());
  if (sr.lockstep_lost) res.notes.push_back("stress workers fell out of lockstep (a barrier timed out)");
  return sr;
}

// The controlled phase: two small schedule programs of the cell's config on
// a class it routes (an adoption racing a remote free of the orphan; two
// remote frees racing the owner's refill and drain), each under a few
// seeded PCT schedules that switch threads inside calls. The controller
// needs schedule points, so this phase runs the tester's flavour whatever
// the cell's build switch says.
constexpr std::size_t kControlledRuns = 6;

std::vector<Program> controlled_programs(const hakmem::Config& cfg) {
  const model::Routing routing(cfg);
  int cls = 0;
  while (cls + 1 < hakmem::kNumClasses && !routing.routed(cls)) ++cls;
  const std::string alloc = fmt::format("alloc sel=2 n={}\n", hakmem::kClassSizes[cls]);
  const std::string header =
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0 threads=3\n";
  std::vector<Program> programs = {
      parse_text(header + "t0 " + alloc + "t0 " + alloc + "t0 " + alloc + "t0 exit\nt1 free block=1\nt2 " +
                 alloc + "t2 " + alloc + "t1 free block=0\n"),
      parse_text(header + "t0 " + alloc + "t0 " + alloc + "t0 " + alloc +
                 "t1 free block=0\nt2 free block=0\nt0 " + alloc + "t0 " + alloc + "t0 free block=0\n")};
  for (Program& p : programs) p.config = cfg;
  return programs;
}

void run_controlled_phase(const hakmem::Config& cfg, const Cell& cell, const CellOptions& opts,
                          CellResult& res) {
  // The controller is the process's one schedule-point hook (hakmem/sched.h):
  // cells running side by side (--jobs) take turns here, or one's controller
  // would park the other's threads.
  static std::mutex one_controller;
  std::lock_guard lock(one_controller);
  for (const Program& program : controlled_programs(cfg)) {
    ExploreOptions o;
    o.strategy = ExploreStrategy::pct;
    o.max_runs = kControlledRuns;
    o.seed = opts.seed ^ support::mix64(cell.index);
    o.run.memory = MemoryKind::c11;  // the weakest model proven (sc on the TSan build: it keeps its own)
    const Exploration e = explore(program, o);
    res.ops += e.runs * program.ops.size();
    if (e.finding) res.raise(CellStatus::finding, "controlled: " + e.finding->describe());
  }
}

// Phase 29's lesson: a cell passes only if the path its config enables ran,
// and a path its config disables never ran.
void prove_paths(const hakmem::Config& cfg, const RunResult& wr, const stress::StressResult& sr,
                 CellResult& res) {
  const model::Routing routing(cfg);
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    const std::string cls = fmt::format("class {} ({} KiB)", c, hakmem::kClassSizes[c] / 1024);
    if (!routing.routed(c)) {
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
  if (routing.mask() && sr.drained == 0)
    res.raise(CellStatus::inactive, "no remote free was ever drained by its owner");
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

std::optional<CellStatus> parse_status(std::string_view name) {
  for (CellStatus s :
       {CellStatus::pass, CellStatus::inactive, CellStatus::finding, CellStatus::harness_error})
    if (name == status_name(s)) return s;
  return std::nullopt;
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
    const EnvVars env = m.env(cell);
    const hakmem::Config cfg = hakmem::parse_config(hakmem::map_env(env));
    const Flavour flavour = flavour_of(m.stats_compiled(cell));
    const RunResult wr = run_program_phase(cfg, flavour, opts, res);
    const stress::StressResult sr = run_stress_phase(env, cfg, flavour, cell, opts, res);
    run_controlled_phase(cfg, cell, opts, res);
    prove_paths(cfg, wr, sr, res);
  } catch (const std::exception& e) {
    res.raise(CellStatus::harness_error, std::string("exception: ") + e.what());
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace hakfuzz::sweep
