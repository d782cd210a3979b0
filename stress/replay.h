// A stress failure as a `remote` fuzz-target input: the ticket-ordered op
// window becomes a deterministic multi-thread schedule, so the interleaving
// that failed replays from one file (`hakfuzz repro --target remote FILE`).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hakmem/types.h"
#include "program/program.h"
#include "stress/op_log.h"

namespace hakfuzz::stress {

struct Replay {
  Program program;
  std::size_t converted = 0;  // stress ops that became schedule ops
  // Frees the schedule cannot express: the block was born before the window,
  // or sits past index 255 of the model's live list (a free op's operand is a
  // byte); those blocks stay live and the oracle frees them at the end.
  std::size_t dropped_frees = 0;
  std::vector<std::string> approximations;  // what differs from the real run, for the report
};

// Workers map to schedule threads modulo 8; sizes keep their class (large
// sizes are rounded to the op language's 16-byte steps). Only the env flags
// a Program carries (v2 enabled, v2 stats, class mask) survive.
Replay build_replay(const std::vector<LoggedOp>& window, const hakmem::Config& config, int workers);

struct ReplayVerdict {
  bool reproduced = false;
  std::string finding;  // the target's finding, if any
};
ReplayVerdict run_replay(const Replay& r);

}  // namespace hakfuzz::stress
