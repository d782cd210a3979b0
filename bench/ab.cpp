#include "bench/ab.h"

#include <fmt/format.h>

#include <utility>

#include "hakmem/variants.h"

namespace hakfuzz::bench {

namespace {

template <class Pool>
Throughput run_once(const AbSpec& spec) {
  hakmem::PoolOptions o;
  o.env = spec.env;
  Pool pool(std::move(o));
  return measure(spec.workload->id, pool_api(pool), spec.steps, spec.seed);
}

PathProof prove_path(const AbSpec& spec) {
  PathProof p;
  hakmem::PoolOptions o;
  o.env = spec.env;
  hakmem::PoolStatsOn pool(std::move(o));
  measure(spec.workload->id, pool_api(pool), spec.steps, spec.seed);
  const hakmem::StatsSnapshot s = pool.stats();
  const hakmem::Config& cfg = spec.config;
  const std::uint8_t mask = cfg.v2_route_mask();
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    if (!(mask & (1u << c))) continue;
    p.alloc_calls += s.get(c, hakmem::V2Stat::alloc_calls);
    p.alloc_fast += s.get(c, hakmem::V2Stat::alloc_fast);
    p.free_calls += s.get(c, hakmem::V2Stat::free_calls);
    p.free_fast += s.get(c, hakmem::V2Stat::free_fast);
  }
  if (!cfg.v2_enabled)
    p.why =
        "HAKMEM_POOL_V2_ENABLED=0: Pool Hotbox v2 is disabled, so the telemetry under test never "
        "executes and any delta is noise (Phase 29's trap). Set HAKMEM_POOL_V2_ENABLED=1 "
        "(or pass --env HAKMEM_POOL_V2_ENABLED=1)";
  else if (mask == 0)
    p.why = "HAKMEM_POOL_V2_CLASSES=0x00 routes no class through v2, so its counters never run";
  else if (p.alloc_calls == 0 || p.free_fast == 0)
    p.why = fmt::format(
        "v2 is enabled (classes {:#04x}) but the workload never reached its {} path (v2 alloc_calls={}, "
        "free_fast={}): its sizes fall in classes v2 does not route",
        cfg.v2_classes, p.alloc_calls == 0 ? "alloc" : "free", p.alloc_calls, p.free_fast);
  p.active = p.why.empty();
  return p;
}

// One untimed warm-up of A (B's was the path proof), then ABAB... with the
// order alternating per pair, so drift and warm caches favour neither side.
AbOutcome interleaved_runs(const AbSpec& spec) {
  run_once<hakmem::PoolStatsOff>(spec);
  AbOutcome out;
  for (int i = 0; i < spec.runs; ++i) {
    auto run_a = [&] { out.a.push_back(run_once<hakmem::PoolStatsOff>(spec).mops()); };
    auto run_b = [&] { out.b.push_back(run_once<hakmem::PoolStatsOn>(spec).mops()); };
    if (i % 2 == 0) {
      run_a();
      run_b();
    } else {
      run_b();
      run_a();
    }
  }
  out.delta_percent = delta_percent(out.a, out.b);
  out.ci = bootstrap_delta_ci(out.a, out.b, kAbLevel, kAbResamples, kAbBootstrapSeed);
  out.verdict = out.ci.contains(0.0) ? AbVerdict::neutral : out.ci.hi < 0 ? AbVerdict::go : AbVerdict::no_go;
  return out;
}

nlohmann::json side_json(const char* flavour, const std::vector<double>& mops) {
  return {{"flavour", flavour}, {"mops", mops}, {"mean", mean_of(mops)}, {"stdev", stdev_of(mops)}};
}

}  // namespace

const char* ab_verdict_name(AbVerdict v) {
  switch (v) {
    case AbVerdict::go:
      return "GO";
    case AbVerdict::neutral:
      return "NEUTRAL";
    case AbVerdict::no_go:
      return "NO-GO";
  }
  return "?";
}

const char* ab_verdict_meaning(AbVerdict v) {
  switch (v) {
    case AbVerdict::go:
      return "compiled-in stats are significantly slower: compiling them out is a gain";
    case AbVerdict::neutral:
      return "the interval contains zero: no measurable cost of compiled-in stats";
    case AbVerdict::no_go:
      return "compiled-in stats are significantly faster: compiling out would be a loss, suspect layout "
             "effects";
  }
  return "?";
}

AbReport run_ab(const AbSpec& spec, const std::function<void(const PathProof&)>& on_proof) {
  AbReport report;
  report.proof = prove_path(spec);
  if (on_proof) on_proof(report.proof);
  if (report.proof.active) report.outcome = interleaved_runs(spec);
  return report;
}

nlohmann::json ab_json(const AbSpec& spec, const AbReport& report, const std::string& build) {
  const PathProof& proof = report.proof;
  nlohmann::json j = {{"command", "ab"},
                      {"seed", spec.seed},
                      {"workload", spec.workload->key},
                      {"steps", spec.steps},
                      {"runs", spec.runs},
                      {"env", spec.config.describe()},
                      {"build", build},
                      {"active", proof.active},
                      {"path",
                       {{"alloc_calls", proof.alloc_calls},
                        {"alloc_fast", proof.alloc_fast},
                        {"free_calls", proof.free_calls},
                        {"free_fast", proof.free_fast}}}};
  if (!report.outcome) {
    j["refused"] = proof.why;
    return j;
  }
  const AbOutcome& o = *report.outcome;
  j["a"] = side_json("stats_off", o.a);
  j["b"] = side_json("stats_on", o.b);
  j["delta_percent"] = o.delta_percent;
  j["ci95"] = {
      {"lo", o.ci.lo}, {"hi", o.ci.hi}, {"method", "percentile bootstrap"}, {"resamples", kAbResamples}};
  j["verdict"] = ab_verdict_name(o.verdict);
  return j;
}

}  // namespace hakfuzz::bench
