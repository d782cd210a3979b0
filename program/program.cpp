#include "program/program.h"

#include <algorithm>
#include <bit>

namespace hakfuzz {

namespace {

const char* const kBadNames[kNumBadKinds] = {"interior", "slab_header", "double_free", "stack",
                                             "unused_slab"};

constexpr std::size_t kLargeBase = hakmem::kMaxClassSize + 1;

int flag_width(const hakmem::FlagSpec& f) { return std::bit_width(f.max); }

std::size_t config_bytes() {
  static const std::size_t bytes = [] {
    int bits = 0;
    for (const hakmem::FlagSpec* f : program_flags()) bits += flag_width(*f);
    return static_cast<std::size_t>((bits + 7) / 8);
  }();
  return bytes;
}

std::uint32_t read_bits(const std::uint8_t* q) {
  std::uint32_t bits = 0;
  for (std::size_t i = 0; i < config_bytes(); ++i) bits |= std::uint32_t{q[i]} << (8 * i);
  return bits;
}

void write_bits(std::vector<std::uint8_t>& out, std::uint32_t bits) {
  for (std::size_t i = 0; i < config_bytes(); ++i) out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
}

// Operand bytes per opcode.
std::size_t operand_bytes(OpCode code) {
  switch (code) {
    case OpCode::alloc:
    case OpCode::fault:
      return 3;
    case OpCode::free:
      return 1;
    case OpCode::bad_free:
      return 5;
    case OpCode::refresh:
      return config_bytes();
    case OpCode::check:
    case OpCode::exit:
      return 0;
  }
  return 0;
}

}  // namespace

const char* op_code_name(OpCode c) {
  static const char* const kNames[kNumOpCodes] = {"alloc", "free",  "bad_free", "refresh",
                                                  "fault", "check", "exit"};
  return kNames[static_cast<int>(c)];
}

// The operand layout, in one place.
struct OpCodec {
  static Op make(OpCode code, int thread, std::uint8_t a, std::uint16_t b = 0, std::uint16_t c = 0) {
    Op op;
    op.code_ = code;
    op.thread_ = static_cast<std::uint8_t>(thread);
    op.a_ = a;
    op.b_ = b;
    op.c_ = c;
    return op;
  }
  static std::uint8_t a(const Op& op) { return op.a_; }
  static std::uint16_t b(const Op& op) { return op.b_; }
  static std::uint16_t c(const Op& op) { return op.c_; }
};

const char* bad_kind_name(BadKind k) { return kBadNames[static_cast<int>(k)]; }

Op Op::alloc(int thread, std::uint8_t selector, std::uint16_t operand) {
  return OpCodec::make(OpCode::alloc, thread, selector, operand);
}
Op Op::alloc_of_size(int thread, std::size_t size) {
  if (size <= hakmem::kMaxClassSize) return alloc(thread, 2, static_cast<std::uint16_t>(size));
  return alloc(thread, 1,
               static_cast<std::uint16_t>(std::min<std::size_t>((size - kLargeBase + 15) / 16, 0xFFFF)));
}
Op Op::free(int thread, std::uint8_t pick) { return OpCodec::make(OpCode::free, thread, pick); }
Op Op::free_same(int thread, std::uint16_t op_index) {
  return OpCodec::make(OpCode::free, thread, 0, static_cast<std::uint16_t>((op_index & ~kSameFlag) + 1));
}
Op Op::bad_free(int thread, BadKind kind, std::uint16_t pick, std::uint16_t offset) {
  return OpCodec::make(OpCode::bad_free, thread, static_cast<std::uint8_t>(kind), pick, offset);
}
Op Op::refresh(int thread, const hakmem::Config& config) {
  return OpCodec::make(OpCode::refresh, thread, 0, static_cast<std::uint16_t>(config_bits(config)));
}
Op Op::fault(int thread, int nth, int count) {
  return OpCodec::make(OpCode::fault, thread, static_cast<std::uint8_t>(nth),
                       static_cast<std::uint16_t>(count));
}
Op Op::check(int thread) { return OpCodec::make(OpCode::check, thread, 0); }
Op Op::exit(int thread) { return OpCodec::make(OpCode::exit, thread, 0); }

std::size_t Op::alloc_size() const {
  switch (a_ % 16) {
    case 0:
      return 0;
    case 1:
      return kLargeBase + b_ * std::size_t{16};  // large, up to ~1 MiB
    default:
      return b_ % (hakmem::kMaxClassSize + 1);  // every class, every size
  }
}

hakmem::Config Op::refresh_config() const { return config_from_bits(b_); }

const std::vector<const hakmem::FlagSpec*>& program_flags() {
  static const std::vector<const hakmem::FlagSpec*> flags = [] {
    std::vector<const hakmem::FlagSpec*> out;
    for (const hakmem::FlagSpec& f : hakmem::flag_table())
      if (f.swept && !f.build_switch) out.push_back(&f);
    return out;
  }();
  return flags;
}

std::uint32_t config_bits(const hakmem::Config& c) {
  std::uint32_t bits = 0;
  int shift = 0;
  for (const hakmem::FlagSpec* f : program_flags()) {
    bits |= c.get(hakmem::env_flag_of(*f)) << shift;
    shift += flag_width(*f);
  }
  return bits;
}

hakmem::Config config_from_bits(std::uint32_t bits) {
  hakmem::Config c;
  for (const hakmem::FlagSpec* f : program_flags()) {
    const int width = flag_width(*f);
    std::uint32_t v = bits & ((1u << width) - 1);
    bits >>= width;
    if (v < f->min || v > f->max) v = f->min + v % (f->max - f->min + 1);
    c.set(hakmem::env_flag_of(*f), v);
  }
  return c;
}

std::string config_text(const hakmem::Config& c) {
  std::string out;
  for (const hakmem::FlagSpec* f : program_flags())
    out +=
        (out.empty() ? "" : " ") + std::string(f->name) + "=" + f->value_text(c.get(hakmem::env_flag_of(*f)));
  return out;
}

Program decode(std::span<const std::uint8_t> bytes, bool multi_thread) {
  Program p;
  std::vector<std::uint8_t> header(config_bytes(), 0);
  std::size_t i = 0;
  for (; i < header.size() && i < bytes.size(); ++i) header[i] = bytes[i];
  p.config = config_from_bits(read_bits(header.data()));
  if (multi_thread)
    p.threads = static_cast<std::uint8_t>(2 + (i < bytes.size() ? bytes[i++] : 0) % (kMaxThreads - 1));
  const int codes = multi_thread ? kNumOpCodes : kNumSingleOpCodes;
  // An op takes at least one byte: one allocation for a fuzz input; a huge
  // file grows the vector as it decodes instead of reserving an op per byte.
  p.ops.reserve(std::min<std::size_t>(bytes.size() - i, 4096));
  while (i < bytes.size()) {
    const std::uint8_t head = bytes[i++];
    const auto code = static_cast<OpCode>(head % codes);
    const int thread = head / codes % p.threads;
    const std::size_t need = operand_bytes(code);
    if (i + need > bytes.size()) break;
    const std::uint8_t* q = bytes.data() + i;
    i += need;
    const auto u16 = [](const std::uint8_t* at) { return static_cast<std::uint16_t>(at[0] | at[1] << 8); };
    switch (code) {
      case OpCode::alloc:
        p.ops.push_back(Op::alloc(thread, q[0], u16(q + 1)));
        break;
      case OpCode::free:
        p.ops.push_back(Op::free(thread, q[0]));
        break;
      case OpCode::bad_free: {
        const auto kind = static_cast<BadKind>(q[0] % kNumBadKinds);
        const std::uint16_t pick = u16(q + 1);
        if (kind == BadKind::double_free && (pick & Op::kSameFlag))
          p.ops.push_back(Op::free_same(thread, pick & ~Op::kSameFlag));
        else
          p.ops.push_back(Op::bad_free(thread, kind, pick, u16(q + 3)));
        break;
      }
      case OpCode::refresh:
        p.ops.push_back(Op::refresh(thread, config_from_bits(read_bits(q))));
        break;
      case OpCode::fault:  // operands exactly as the trace shows them
        p.ops.push_back(Op::fault(thread, q[0] % (kMaxFaultNth + 1), 1 + q[1] % kMaxFaultCount));
        break;
      case OpCode::check:
        p.ops.push_back(Op::check(thread));
        break;
      case OpCode::exit:
        p.ops.push_back(Op::exit(thread));
        break;
    }
  }
  return p;
}

std::vector<std::uint8_t> encode(const Program& p) {
  std::vector<std::uint8_t> out;
  write_bits(out, config_bits(p.config));
  const int codes = p.threads > 1 ? kNumOpCodes : kNumSingleOpCodes;
  if (p.threads > 1) out.push_back(static_cast<std::uint8_t>(p.threads - 2));
  const auto u16 = [&](std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  for (const Op& op : p.ops) {
    if (const std::optional<std::size_t> same = op.same_as()) {  // a double-free bad_free, flagged
      out.push_back(static_cast<std::uint8_t>(static_cast<int>(OpCode::bad_free) + codes * op.thread()));
      out.push_back(static_cast<std::uint8_t>(BadKind::double_free));
      u16(static_cast<std::uint16_t>(*same | Op::kSameFlag));
      u16(0);
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(static_cast<int>(op.code()) + codes * op.thread()));
    switch (op.code()) {
      case OpCode::alloc:
        out.push_back(op.alloc_selector());
        u16(op.alloc_operand());
        break;
      case OpCode::free:
        out.push_back(op.pick());
        break;
      case OpCode::bad_free:
        out.push_back(static_cast<std::uint8_t>(op.bad_kind()));
        u16(op.bad_pick());
        u16(op.bad_offset());
        break;
      case OpCode::refresh:
        write_bits(out, config_bits(op.refresh_config()));
        break;
      case OpCode::fault:
        out.insert(out.end(), {static_cast<std::uint8_t>(op.fault_nth()),
                               static_cast<std::uint8_t>(op.fault_count() - 1), 0});
        break;
      case OpCode::check:
      case OpCode::exit:
        break;
    }
  }
  return out;
}

}  // namespace hakfuzz
