#include "explore/plan.h"

#include <algorithm>

namespace hakfuzz {

namespace {

// interior: any live block; slab_header: a live pool block (not large).
std::uint32_t bad_free_target(const Op& op, const std::vector<std::uint32_t>& live,
                              const std::vector<std::size_t>& sizes) {
  if (op.bad_kind() != BadKind::interior && op.bad_kind() != BadKind::slab_header) return kNoBlock;
  std::vector<std::uint32_t> candidates;
  for (std::uint32_t id : live)
    if (op.bad_kind() == BadKind::interior || hakmem::size_class_of(sizes[id]) >= 0) candidates.push_back(id);
  return candidates.empty() ? kNoBlock : candidates[op.bad_pick() % candidates.size()];
}

}  // namespace

std::vector<PlannedOp> plan_interleaving(const Program& program, std::size_t max_ops) {
  std::vector<PlannedOp> plan;
  std::vector<std::uint32_t> live;  // block ids in allocation order, as the runner's live list
  std::vector<std::size_t> sizes;   // per block
  const std::size_t n = std::min(program.ops.size(), max_ops);
  for (std::size_t i = 0; i < n; ++i) {
    PlannedOp p{program.ops[i]};
    switch (p.op.code()) {
      case OpCode::alloc:
        p.block = static_cast<std::uint32_t>(sizes.size());
        sizes.push_back(p.op.alloc_size());
        live.push_back(p.block);
        break;
      case OpCode::free:
        if (const std::optional<std::size_t> same = p.op.same_as()) {
          // Named, not picked: it may race the named op's own free of the block.
          const bool names_block =
              *same < i && plan[*same].block != kNoBlock && plan[*same].skip.empty() &&
              (plan[*same].op.code() == OpCode::alloc || plan[*same].op.code() == OpCode::free);
          if (!names_block) {
            p.skip = "names no block";
            break;
          }
          p.block = plan[*same].block;
        } else if (live.empty()) {
          p.skip = "nothing live";
          break;
        } else {
          p.block = live[p.op.pick() % live.size()];
        }
        std::erase(live, p.block);
        break;
      case OpCode::bad_free:
        p.block = bad_free_target(p.op, live, sizes);
        if (p.op.bad_kind() == BadKind::double_free)
          p.skip =
              "a double free of a picked block would race its reuse (a racing free names its block: free "
              "same=N)";
        else if (p.block == kNoBlock && p.op.bad_kind() != BadKind::stack &&
                 p.op.bad_kind() != BadKind::unused_slab)
          p.skip = "no block to aim at";
        break;
      case OpCode::refresh:
      case OpCode::check:
        p.barrier = true;
        break;
      case OpCode::fault:
        p.skip = "faults do not take part (which acquisition fails would depend on the schedule)";
        break;
      case OpCode::exit:
        break;
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

}  // namespace hakfuzz
