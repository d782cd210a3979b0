// The `interleave` target's input, in every form it takes: bytes (what
// libFuzzer mutates and the corpus holds), the readable trace (`decode`,
// `encode`; interleave_to_text/interleave_from_text in fuzz/targets.h, the
// target table's codec) and the finding file that `explore` and
// `stress --controlled` write and `repro` replays.
//
// Bytes: [program length, 2 bytes LE][a `remote` program][schedule], the
// schedule being [mode % 3][choices...] | [random][seed, 8 LE] | [pct][seed,
// 8 LE][depth]. Text: the program's trace, then one line `schedule choices
// 0 1 1 ...`, `schedule random seed=S` or `schedule pct seed=S depth=D`;
// `decode` adds the run's steps as `#` lines, which `encode` ignores.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "explore/explore.h"
#include "fuzz/targets.h"
#include "fuzz/user_error.h"

namespace hakfuzz {

struct InterleaveInput {
  Program program;
  ScheduleSpec schedule;
};
InterleaveInput decode_interleave(std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> encode_interleave(const InterleaveInput& input);

// A minimized failing interleaving as an `interleave` input, DIR/interleave/
// <sha1> (the dir names the target, so `repro` finds it from the path), with
// its readable trace beside it as <sha1>.txt. Returns the input's path; a
// UserError naming the path when it cannot be written.
std::string write_interleave_finding(const std::string& dir, const Minimized& m);

}  // namespace hakfuzz
