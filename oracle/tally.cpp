#include "oracle/tally.h"

namespace hakfuzz::model {

using hakmem::FreeOutcome;
using hakmem::FreeRoute;
using hakmem::V2Stat;
using hakmem::Verdict;

void Tally::alloc(int cls, bool routed, BlockKind landed, bool refill_failed) {
  if (routed) ++counters[cls][static_cast<int>(V2Stat::alloc_calls)];
  if (refill_failed) {
    ++counters[cls][static_cast<int>(V2Stat::alloc_refill_fail)];
    ++counters[cls][static_cast<int>(V2Stat::alloc_fallback_v1)];
  }
  switch (landed) {
    case BlockKind::v2:
      ++allocs, ++v2_allocs[cls];
      break;
    case BlockKind::v1:
      ++allocs, ++v1_allocs[cls];
      break;
    case BlockKind::large:
      ++allocs, ++large_allocs;
      break;
    case BlockKind::none:
      ++null_allocs;
      break;
  }
}

void Tally::free(const FreeOutcome& o) {
  const bool in_class = o.cls >= 0 && o.cls < hakmem::kNumClasses;
  switch (o.route) {
    case FreeRoute::v2_local:
    case FreeRoute::v2_remote:
      ++frees;
      if (in_class) ++(o.route == FreeRoute::v2_local ? v2_local : v2_remote)[o.cls];
      break;
    case FreeRoute::v1:
      ++frees;
      if (in_class) ++v1_frees[o.cls];
      break;
    case FreeRoute::large:
      ++frees, ++large_frees;
      break;
    case FreeRoute::rejected:
      ++rejected;
      break;
    case FreeRoute::null:
      break;
  }
  if (!o.entered_v2) return;
  auto& row = counters[in_class ? o.cls : hakmem::kNoClassRow];
  ++row[static_cast<int>(V2Stat::free_calls)];
  if (o.page_of == Verdict::ok) {
    if (o.reason == Verdict::ok) ++row[static_cast<int>(V2Stat::free_fast)];
    return;
  }
  ++row[static_cast<int>(hakmem::page_of_fail_counter(o.page_of).value_or(V2Stat::page_of_fail_unknown))];
  ++row[static_cast<int>(V2Stat::free_fallback_v1)];
}

std::uint64_t Tally::remote_frees() const {
  std::uint64_t n = 0;
  for (std::uint64_t v : v2_remote) n += v;
  return n;
}

Tally& Tally::operator+=(const Tally& o) {
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    v2_allocs[c] += o.v2_allocs[c], v1_allocs[c] += o.v1_allocs[c];
    v2_local[c] += o.v2_local[c], v2_remote[c] += o.v2_remote[c], v1_frees[c] += o.v1_frees[c];
  }
  allocs += o.allocs, frees += o.frees, large_allocs += o.large_allocs, large_frees += o.large_frees;
  rejected += o.rejected, null_allocs += o.null_allocs;
  for (int row = 0; row < hakmem::kNumStatRows; ++row)
    for (int i = 0; i < hakmem::kNumV2Stats; ++i) counters[row][i] += o.counters[row][i];
  return *this;
}

std::optional<std::string> Tally::check_counters(const hakmem::StatsSnapshot& s) const {
  if (!s.compiled) return std::nullopt;
  for (int row = 0; row < hakmem::kNumStatRows; ++row) {
    for (V2Stat exact :
         {V2Stat::alloc_calls, V2Stat::alloc_refill_fail, V2Stat::alloc_fallback_v1, V2Stat::free_calls,
          V2Stat::free_fast, V2Stat::free_fallback_v1, V2Stat::page_of_fail_header_missing,
          V2Stat::page_of_fail_out_of_range, V2Stat::page_of_fail_misaligned, V2Stat::page_of_fail_unknown}) {
      if (s.get(row, exact) != expected(row, exact))
        return std::string("counter ") + hakmem::v2_stat_name(exact) + " of row " + std::to_string(row) +
               " is " + std::to_string(s.get(row, exact)) + ", model expects " +
               std::to_string(expected(row, exact));
    }
    if (s.get(row, V2Stat::alloc_fast) + s.get(row, V2Stat::alloc_refill) != s.get(row, V2Stat::alloc_calls))
      return "alloc_fast + alloc_refill != alloc_calls in row " + std::to_string(row);
  }
  return std::nullopt;
}

}  // namespace hakfuzz::model
