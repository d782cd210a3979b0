// The op language of the `ops` fuzz target and its codecs.
//
// Binary form (what libFuzzer mutates): every byte string decodes, so any
// input is a valid program. Byte 0 and 1 give the starting config (and byte
// 2 the thread count of a schedule), then each op is one opcode byte (which
// also names the thread) followed by its fixed-size arguments; a truncated
// last op is dropped. Text form (what people read and write): one op per
// line, `encode(parse_text(to_text(p))) == encode(p)` for every program.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hakfuzz {

enum class OpCode : std::uint8_t {
  alloc,     // a = size selector, b = size fraction
  free,      // a = live block index (mod live count)
  bad_free,  // a = kind of crafted pointer, b = block index, c = offset
  refresh,   // a = v2_enabled | v2_stats << 1, b = class mask
  fault,     // a = 0: disarm; else fail page acquisitions a .. a+b-1 from now
  check,     // invariant walk + accounting
  exit,      // the op's thread ends (multi-thread programs); a later op respawns it
};
inline constexpr int kNumSingleOpCodes = 6;  // single-thread programs have no `exit`
inline constexpr int kNumOpCodes = 7;
inline constexpr int kMaxThreads = 8;
inline constexpr int kMaxFaultNth = 7;    // fault: nth=0 disarms, 1..7 arms
inline constexpr int kMaxFaultCount = 8;  // fault: count=1..8 consecutive failures

// Crafted pointers of bad_free, each with a verdict the model predicts.
enum class BadKind : std::uint8_t {
  interior,     // inside a live block (pool or large), not at its start
  slab_header,  // the 64-byte header of a live block's slab
  double_free,  // a block freed earlier and not handed out since
  stack,        // an address outside every arena
  unused_slab,  // inside the arena, in a slab never committed
};
inline constexpr int kNumBadKinds = 5;

struct Op {
  OpCode code = OpCode::check;
  std::uint8_t thread = 0;  // logical thread that runs the op
  std::uint8_t a = 0;
  std::uint16_t b = 0;
  std::uint16_t c = 0;
  bool operator==(const Op&) const = default;
};

struct Program {
  std::uint8_t flags = 0;  // bit0 v2_enabled, bit1 v2_stats
  std::uint8_t classes = 0x7F;
  std::uint8_t threads = 1;  // 1: single-thread program; 2..8: a schedule
  std::vector<Op> ops;
  bool operator==(const Program&) const = default;
};

// Size an alloc op asks for: 0..52 KiB across all classes, sometimes 0 or
// a large size (capped at 1 MiB so fuzz inputs stay cheap).
std::size_t alloc_size(const Op& op);

// Single-thread programs: [flags][classes] then ops. Schedules (multi_thread)
// add a [threads] byte; each op byte also names the op's thread.
Program decode(std::span<const std::uint8_t> bytes, bool multi_thread = false);
std::vector<std::uint8_t> encode(const Program& p);

std::string to_text(const Program& p);
// Throws std::invalid_argument naming the line on malformed text.
Program parse_text(const std::string& text);

}  // namespace hakfuzz
