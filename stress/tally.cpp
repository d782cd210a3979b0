#include "stress/tally.h"

#include <fmt/format.h>

namespace hakfuzz::stress {

using hakmem::FreeRoute;
using hakmem::V2Stat;
using hakmem::Verdict;

void Tally::note_alloc(const hakmem::BlockInfo& info) {
  ++allocs;
  switch (info.kind) {
    case hakmem::BlockKind::v2:
      ++v2_allocs[info.cls];
      break;
    case hakmem::BlockKind::v1:
      ++v1_allocs[info.cls];
      break;
    case hakmem::BlockKind::large:
      ++large_allocs;
      break;
    case hakmem::BlockKind::none:
      ++null_allocs;
      break;
  }
}

void Tally::note_free(const hakmem::FreeOutcome& out) {
  if (out.entered_v2) {
    ++v2_free_calls;
    if (out.page_of != Verdict::ok) {
      ++v2_fallback;
      ++page_of_fail[static_cast<int>(out.page_of)];
    }
  }
  bool in_class = out.cls >= 0 && out.cls < hakmem::kNumClasses;
  switch (out.route) {
    case FreeRoute::v2_local:
    case FreeRoute::v2_remote:
      ++frees;
      if (!in_class) break;
      ++(out.route == FreeRoute::v2_local ? v2_local : v2_remote)[out.cls];
      if (out.entered_v2) ++v2_free_fast[out.cls];
      break;
    case FreeRoute::v1:
      ++frees;
      if (in_class) ++v1_frees[out.cls];
      break;
    case FreeRoute::large:
      ++frees;
      ++large_frees;
      break;
    case FreeRoute::rejected:
      ++rejected;
      break;
    case FreeRoute::null:
      break;
  }
}

std::uint64_t Tally::remote_total() const {
  std::uint64_t n = 0;
  for (auto v : v2_remote) n += v;
  return n;
}

Tally& Tally::operator+=(const Tally& o) {
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    v2_allocs[c] += o.v2_allocs[c];
    v1_allocs[c] += o.v1_allocs[c];
    v2_local[c] += o.v2_local[c];
    v2_remote[c] += o.v2_remote[c];
    v1_frees[c] += o.v1_frees[c];
    v2_free_fast[c] += o.v2_free_fast[c];
  }
  allocs += o.allocs, frees += o.frees, large_allocs += o.large_allocs, large_frees += o.large_frees;
  rejected += o.rejected, null_allocs += o.null_allocs;
  v2_free_calls += o.v2_free_calls, v2_fallback += o.v2_fallback;
  for (int v = 0; v < hakmem::kNumVerdicts; ++v) page_of_fail[v] += o.page_of_fail[v];
  return *this;
}

std::vector<std::string> compare_counters(const Tally& t, const hakmem::StatsSnapshot& s) {
  std::vector<std::string> out;
  if (!s.compiled) return out;
  auto expect = [&](const std::string& what, std::uint64_t got, std::uint64_t want) {
    if (got != want) out.push_back(fmt::format("counter {} = {}, expected {}", what, got, want));
  };
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    auto row = [&](V2Stat st) { return s.get(c, st); };
    std::string cls = fmt::format("[class {}]", c);
    expect("alloc_calls" + cls, row(V2Stat::alloc_calls), t.v2_allocs[c]);
    expect("alloc_fast+alloc_refill" + cls, row(V2Stat::alloc_fast) + row(V2Stat::alloc_refill),
           row(V2Stat::alloc_calls));
    expect("alloc_refill_fail" + cls, row(V2Stat::alloc_refill_fail), 0);
    expect("alloc_fallback_v1" + cls, row(V2Stat::alloc_fallback_v1), 0);
    expect("free_fast" + cls, row(V2Stat::free_fast), t.v2_free_fast[c]);
  }
  for (V2Stat st : {V2Stat::alloc_calls, V2Stat::alloc_fast, V2Stat::alloc_refill, V2Stat::free_fast})
    expect(std::string(hakmem::v2_stat_name(st)) + "[none]", s.get(hakmem::kNoClassRow, st), 0);
  expect("free_calls", s.total(V2Stat::free_calls), t.v2_free_calls);
  expect("free_fallback_v1", s.total(V2Stat::free_fallback_v1), t.v2_fallback);
  auto fails = [&](Verdict v) { return t.page_of_fail[static_cast<int>(v)]; };
  expect("page_of_fail_header_missing", s.total(V2Stat::page_of_fail_header_missing),
         fails(Verdict::header_missing));
  expect("page_of_fail_out_of_range", s.total(V2Stat::page_of_fail_out_of_range),
         fails(Verdict::out_of_range));
  expect("page_of_fail_misaligned", s.total(V2Stat::page_of_fail_misaligned), fails(Verdict::misaligned));
  std::uint64_t other = t.v2_fallback - fails(Verdict::header_missing) - fails(Verdict::out_of_range) -
                        fails(Verdict::misaligned);
  expect("page_of_fail_unknown", s.total(V2Stat::page_of_fail_unknown), other);
  return out;
}

}  // namespace hakfuzz::stress
