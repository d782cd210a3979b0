// The op language every fuzz target, the sweep and the stress replays speak:
// a Program is a starting config plus ops, each run on a logical thread.
//
// Binary form (what libFuzzer mutates): every byte string decodes, so any
// input is a valid program. A header holds the program's config (see
// config_bits()) and, for schedules, the thread count; then each op is one
// opcode byte (which also names the thread) followed by fixed-size operands;
// a truncated last op is dropped. Text form (what people read and write):
// one op per line; `encode(parse_text(to_text(p))) == encode(p)` for every p.
// Only this file and program.cpp know how operands are laid out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hakmem/types.h"

namespace hakfuzz {

enum class OpCode : std::uint8_t {
  alloc,     // a request size (see Op::alloc_size)
  free,      // a live block, picked by index (mod the live count), or the
             // block another op names (a racing free, Op::free_same)
  bad_free,  // a crafted pointer the pool must reject
  refresh,   // new flag values, then refresh_from_env()
  fault,     // arm or disarm page-acquisition failures
  check,     // invariant walk + accounting
  exit,      // the op's thread ends (schedules only); a later op respawns it
};
const char* op_code_name(OpCode c);
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
const char* bad_kind_name(BadKind k);

class Op {
 public:
  Op() = default;
  static Op alloc(int thread, std::uint8_t selector, std::uint16_t operand);
  // The operands alloc_size() maps to a size of the same class as `size`
  // (the same size for every pool class; large sizes in 16-byte steps).
  static Op alloc_of_size(int thread, std::size_t size);
  static Op free(int thread, std::uint8_t pick);
  // A free of the block op `op_index` allocates or frees, whatever became of
  // it: on another thread it may overlap that op's own free (a double free
  // racing the first; of the two, one may succeed). Its binary form is a
  // double-free bad_free whose pick has the top bit set (kSameFlag).
  static Op free_same(int thread, std::uint16_t op_index);
  static constexpr std::uint16_t kSameFlag = 0x8000;
  static Op bad_free(int thread, BadKind kind, std::uint16_t pick, std::uint16_t offset);
  static Op refresh(int thread, const hakmem::Config& config);
  static Op fault(int thread, int nth, int count);  // nth 0 disarms
  static Op check(int thread = 0);
  static Op exit(int thread);

  OpCode code() const { return code_; }
  int thread() const { return thread_; }

  // alloc: 0..52 KiB across all classes, sometimes 0 or a large size (capped
  // at about 1 MiB so inputs stay cheap).
  std::size_t alloc_size() const;
  std::uint8_t alloc_selector() const { return a_; }
  std::uint16_t alloc_operand() const { return b_; }
  std::uint8_t pick() const { return a_; }  // free
  // free_same: the op whose block it frees.
  std::optional<std::size_t> same_as() const {
    if (code_ != OpCode::free || b_ == 0) return std::nullopt;
    return std::size_t{b_ - 1u};
  }
  BadKind bad_kind() const { return static_cast<BadKind>(a_); }
  std::uint16_t bad_pick() const { return b_; }
  std::uint16_t bad_offset() const { return c_; }
  hakmem::Config refresh_config() const;
  int fault_nth() const { return a_; }
  int fault_count() const { return b_; }

  bool operator==(const Op&) const = default;

 private:
  friend struct OpCodec;
  OpCode code_ = OpCode::check;
  std::uint8_t thread_ = 0;
  std::uint8_t a_ = 0;
  std::uint16_t b_ = 0, c_ = 0;
};

struct Program {
  // The flags a program sets (program_flags()); the others keep table defaults.
  hakmem::Config config;
  std::uint8_t threads = 1;  // 1: single-thread program; 2..8: a schedule
  std::vector<Op> ops;
  bool operator==(const Program&) const = default;
};

// The env flags a program's header and a refresh op carry: the swept ones of
// the flag table, in table order. A flag added there joins the op language.
const std::vector<const hakmem::FlagSpec*>& program_flags();
// Those flags packed into bits, each as wide as its largest value, in table
// order from bit 0; the inverse reduces out-of-range values into the domain.
std::uint32_t config_bits(const hakmem::Config& c);
hakmem::Config config_from_bits(std::uint32_t bits);
// "HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F ..." for program_flags().
std::string config_text(const hakmem::Config& c);

// Single-thread programs: header then ops. Schedules (multi_thread) add a
// thread-count byte; each op byte also names the op's thread.
Program decode(std::span<const std::uint8_t> bytes, bool multi_thread = false);
std::vector<std::uint8_t> encode(const Program& p);

std::string to_text(const Program& p);
// Throws std::invalid_argument naming the line on malformed text.
Program parse_text(const std::string& text);

}  // namespace hakfuzz
