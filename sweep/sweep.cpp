#include "sweep/sweep.h"

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <map>

#include "support/digest.h"

namespace hakfuzz::sweep {

std::vector<CellResult> run_sweep(const Matrix& m, const std::vector<Cell>& cells, const SweepOptions& opts,
                                  SweepProgress& progress) {
  const int jobs = opts.jobs > 0 ? opts.jobs : tbb::info::default_concurrency();
  // Each running cell owns a nested arena of `threads` workers; without this
  // TBB would cap the process at one thread per core and the stress workers
  // of concurrent cells would share threads, making their frees local.
  // Plus one thread per running cell: the thread that runs a cell joins its
  // nested arena, and the outer arena keeps its own.
  const int wanted = std::max(jobs * (opts.cell.threads + 1) + 1, tbb::info::default_concurrency());
  tbb::global_control threads_cap(tbb::global_control::max_allowed_parallelism,
                                  static_cast<std::size_t>(wanted));

  std::vector<CellResult> results(cells.size());
  tbb::task_arena arena(jobs);
  arena.execute([&] {
    // One cell per task, in matrix order: cells vary in cost, so no chunking.
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, cells.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& r) {
          for (std::size_t i = r.begin(); i != r.end(); ++i) {
            results[i] = opts.runner ? opts.runner(m, cells[i], opts.cell) : run_cell(m, cells[i], opts.cell);
            if (results[i].status != CellStatus::pass) progress.not_passed.fetch_add(1);
            progress.done.fetch_add(1);
          }
        },
        tbb::simple_partitioner());
  });
  return results;
}

std::size_t check_equivalence(const Matrix& m, std::vector<CellResult>& results) {
  std::map<std::string, std::vector<CellResult*>> groups;
  for (CellResult& r : results) {
    r.equivalence_note.clear();
    if (r.has_digest) groups[m.equivalence_key(r.cell)].push_back(&r);
  }
  std::size_t broken = 0;
  for (auto& [key, members] : groups) {
    std::map<std::uint64_t, std::vector<const CellResult*>> by_digest;
    for (const CellResult* r : members) by_digest[r->digest].push_back(r);
    if (by_digest.size() < 2) continue;
    ++broken;
    const auto& [majority, holders] =
        *std::ranges::max_element(by_digest, {}, [](const auto& kv) { return kv.second.size(); });
    const CellResult* dissenter = nullptr;
    for (const CellResult* r : members)
      if (r->digest != majority && !dissenter) dissenter = r;
    for (CellResult* r : members) {
      if (r->digest == majority) {
        r->equivalence_partner = dissenter->cell.index;
        r->equivalence_note = fmt::format(
            "equivalent cells disagree: {} distinct digests among {} cells with key '{}' (cell {:04} has {})",
            by_digest.size(), members.size(), key, dissenter->cell.index, support::hex64(dissenter->digest));
      } else {
        r->equivalence_partner = holders.front()->cell.index;
        r->equivalence_note = fmt::format(
            "digest {} differs from {} shared by {} of {} equivalent cells (key '{}', e.g. cell {:04})",
            support::hex64(r->digest), support::hex64(majority), holders.size(), members.size(), key,
            holders.front()->cell.index);
      }
    }
  }
  return broken;
}

}  // namespace hakfuzz::sweep
