// `stats_diff`: one program on four configs that must behave alike: stats
// compiled out and in, each with HAKMEM_POOL_V2_STATS 0 and 1. Their op
// traces (outcomes, offsets, sizes) must match line for line; each run also
// passes the model, and the stats-on runs check every counter.
#include "fuzz/targets.h"

namespace hakfuzz {

RunResult run_stats_diff_target(Bytes input, bool trace) { return stats_diff(decode(input), trace); }

RunResult stats_diff(const Program& base, bool trace) {
  Program flipped = base;
  flipped.config.v2_stats ^= 1;
  struct Variant {
    const char* name;
    RunResult result;
  };
  Variant runs[] = {
      {"stats_off", run_program(base, {.flavour = Flavour::stats_off, .trace = true})},
      {"stats_on", run_program(base, {.flavour = Flavour::stats_on, .trace = true})},
      {"stats_off+env_flipped", run_program(flipped, {.flavour = Flavour::stats_off, .trace = true})},
      {"stats_on+env_flipped", run_program(flipped, {.flavour = Flavour::stats_on, .trace = true})},
  };
  RunResult out;
  out.digest = runs[0].result.digest;
  out.tally = runs[0].result.tally;
  if (trace) out.trace = runs[0].result.trace;
  for (Variant& v : runs) {
    if (v.result.finding) {
      out.finding = v.result.finding;
      out.finding->what = std::string(v.name) + ": " + out.finding->what;
      return out;
    }
  }
  const auto& ref = runs[0].result.trace;
  for (std::size_t k = 1; k < std::size(runs); ++k) {
    const auto& other = runs[k].result.trace;
    for (std::size_t i = 0; i < std::max(ref.size(), other.size()); ++i) {
      const std::string a = i < ref.size() ? ref[i] : "(end)", b = i < other.size() ? other[i] : "(end)";
      if (a != b) {
        out.finding =
            Finding{FindingKind::stats_diverge, i,
                    std::string("stats_off and ") + runs[k].name + " diverge: '" + a + "' vs '" + b + "'"};
        return out;
      }
    }
    if (runs[k].result.digest != out.digest)
      out.finding = Finding{FindingKind::stats_diverge, ref.size(),
                            std::string("behaviour digest differs for ") + runs[k].name};
  }
  return out;
}

}  // namespace hakfuzz
