// The `interleave` runner's plan: each op's operands resolved to block ids
// from program order alone, before anything runs, so what an op aims at never
// depends on the schedule (explore/interleave.h says what that buys).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "program/program.h"

namespace hakfuzz {

inline constexpr std::uint32_t kNoBlock = UINT32_MAX;

struct PlannedOp {
  Op op;
  // alloc: the block it makes (blocks are numbered by allocation order);
  // free, bad_free: the block it aims at (a racing free: the block the op
  // it names allocates or frees); kNoBlock otherwise.
  std::uint32_t block = kNoBlock;
  bool barrier = false;  // check, refresh: run alone, with every other op done
  std::string skip{};    // why the op does not run ("" when it does)
};

// The first `max_ops` ops of `program`, planned.
std::vector<PlannedOp> plan_interleaving(const Program& program, std::size_t max_ops);

}  // namespace hakfuzz
