#include "program/program.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace hakfuzz {

namespace {

const char* const kBadNames[kNumBadKinds] = {"interior", "slab_header", "double_free", "stack",
                                             "unused_slab"};

constexpr std::size_t kLargeBase = hakmem::kMaxClassSize + 1;

int flag_width(const hakmem::FlagSpec& f) { return std::bit_width(f.max); }

hakmem::EnvFlag env_flag_of(const hakmem::FlagSpec* f) {
  return static_cast<hakmem::EnvFlag>(f - hakmem::flag_table().data());
}

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

// "NAME=VALUE ..." words of program flags over `base`; throws on anything else.
hakmem::Config parse_config_words(std::istringstream& words, hakmem::Config base, std::string* rest,
                                  const std::function<void(const std::string&)>& fail) {
  std::vector<const hakmem::FlagSpec*> seen;
  for (std::string word; words >> word;) {
    const auto eq = word.find('=');
    const std::string name = word.substr(0, eq);
    const hakmem::FlagSpec* spec = nullptr;
    for (const hakmem::FlagSpec* f : program_flags())
      if (name == f->name) spec = f;
    if (!spec || eq == std::string::npos) {
      if (rest && rest->empty()) {
        *rest = word;
        continue;
      }
      fail("expected NAME=VALUE of a program flag (" + config_text(hakmem::Config{}) + ")");
    }
    if (std::ranges::find(seen, spec) != seen.end()) fail(name + " given twice");
    seen.push_back(spec);
    try {
      base.set(env_flag_of(spec), hakmem::parse_flag_value(*spec, word.substr(eq + 1)));
    } catch (const hakmem::ConfigError& e) {
      fail(e.what());
    }
  }
  return base;
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
    bits |= c.get(env_flag_of(f)) << shift;
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
    c.set(env_flag_of(f), v);
  }
  return c;
}

std::string config_text(const hakmem::Config& c) {
  std::string out;
  for (const hakmem::FlagSpec* f : program_flags())
    out += (out.empty() ? "" : " ") + std::string(f->name) + "=" + f->value_text(c.get(env_flag_of(f)));
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

std::string to_text(const Program& p) {
  std::ostringstream out;
  out << "config " << config_text(p.config)
      << (p.threads > 1 ? " threads=" + std::to_string(p.threads) : std::string()) << "\n";
  for (const Op& op : p.ops) {
    if (p.threads > 1) out << "t" << op.thread() << " ";
    out << op_code_name(op.code());
    switch (op.code()) {
      case OpCode::alloc:
        out << " sel=" << int(op.alloc_selector()) << " n=" << op.alloc_operand() << "  # size "
            << op.alloc_size();
        break;
      case OpCode::free:
        if (op.same_as())
          out << " same=" << *op.same_as();
        else
          out << " block=" << int(op.pick());
        break;
      case OpCode::bad_free:
        out << " " << bad_kind_name(op.bad_kind()) << " block=" << op.bad_pick()
            << " off=" << op.bad_offset();
        break;
      case OpCode::refresh:
        out << " " << config_text(op.refresh_config());
        break;
      case OpCode::fault:
        out << " nth=" << op.fault_nth() << " count=" << op.fault_count();
        break;
      case OpCode::check:
      case OpCode::exit:
        break;
    }
    out << "\n";
  }
  return out.str();
}

namespace {

// One trace, line by line; every error names its line.
class TraceParser {
 public:
  Program parse(const std::string& text) {
    std::istringstream in(text);
    while (std::getline(in, line_)) {
      ++lineno_;
      std::istringstream ls(line_.substr(0, line_.find('#')));  // '#' starts a comment
      std::string word;
      if (!(ls >> word)) continue;
      if (word == "config") {
        config_line(ls);
        continue;
      }
      if (!have_config_) fail("the first line must be 'config ...'");
      int thread = 0;
      if (p_.threads > 1) {
        if (word.size() < 2 || word[0] != 't' ||
            word.find_first_not_of("0123456789", 1) != std::string::npos || word.size() > 3 ||
            std::stoul(word.substr(1)) >= p_.threads)
          fail("expected a thread 't0'..'t" + std::to_string(p_.threads - 1) + "'");
        thread = static_cast<int>(std::stoul(word.substr(1)));
        if (!(ls >> word)) fail("missing op");
      }
      if (op(thread, word, ls) && ls >> word) fail("trailing words");
    }
    if (!have_config_) throw std::invalid_argument("trace: empty (no 'config' line)");
    return std::move(p_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("trace line " + std::to_string(lineno_) + ": " + why + ": '" + line_ + "'");
  }
  unsigned field(std::istringstream& ls, const std::string& key, unsigned max) const {
    std::string word;
    if (!(ls >> word) || word.rfind(key, 0) != 0) fail("expected " + key);
    std::string digits = word.substr(key.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6)
      fail("bad number after " + key);
    unsigned v = static_cast<unsigned>(std::stoul(digits));
    if (v > max) fail(key + " out of range (max " + std::to_string(max) + ")");
    return v;
  }
  std::function<void(const std::string&)> failer() const {
    return [this](const std::string& why) { fail(why); };
  }

  void config_line(std::istringstream& ls) {
    if (have_config_) fail("a second config line");
    std::string threads;
    p_.config = parse_config_words(ls, hakmem::Config{}, &threads, failer());
    if (!threads.empty()) {
      std::istringstream rest(threads);
      p_.threads = static_cast<std::uint8_t>(field(rest, "threads=", kMaxThreads));
      if (p_.threads < 2) fail("threads= must be 2..8 (omit it for a single-thread program)");
    }
    have_config_ = true;
  }

  // One op; false when it took the whole line.
  bool op(int thread, const std::string& word, std::istringstream& ls) {
    if (word == "alloc") {
      const auto sel = static_cast<std::uint8_t>(field(ls, "sel=", 255));
      p_.ops.push_back(Op::alloc(thread, sel, static_cast<std::uint16_t>(field(ls, "n=", 65535))));
    } else if (word == "free") {
      std::string operand;
      ls >> operand;
      std::istringstream one(operand);
      if (operand.rfind("same=", 0) == 0)
        p_.ops.push_back(
            Op::free_same(thread, static_cast<std::uint16_t>(field(one, "same=", Op::kSameFlag - 1))));
      else
        p_.ops.push_back(Op::free(thread, static_cast<std::uint8_t>(field(one, "block=", 255))));
    } else if (word == "bad_free") {
      std::string kind;
      ls >> kind;
      int k = 0;
      while (k < kNumBadKinds && kind != kBadNames[k]) ++k;
      if (k == kNumBadKinds) fail("unknown bad_free kind");
      const auto pick = static_cast<std::uint16_t>(field(ls, "block=", 65535));
      p_.ops.push_back(Op::bad_free(thread, static_cast<BadKind>(k), pick,
                                    static_cast<std::uint16_t>(field(ls, "off=", 65535))));
    } else if (word == "refresh") {
      p_.ops.push_back(Op::refresh(thread, parse_config_words(ls, hakmem::Config{}, nullptr, failer())));
      return false;  // the config words took the whole line
    } else if (word == "fault") {
      const int nth = static_cast<int>(field(ls, "nth=", kMaxFaultNth));
      const int count = static_cast<int>(field(ls, "count=", kMaxFaultCount));
      if (count == 0) fail("count= must be 1..8");
      p_.ops.push_back(Op::fault(thread, nth, count));
    } else if (word == "check") {
      p_.ops.push_back(Op::check(thread));
    } else if (word == "exit" && p_.threads > 1) {
      p_.ops.push_back(Op::exit(thread));
    } else {
      fail("unknown op");
    }
    return true;
  }

  Program p_;
  std::string line_;
  int lineno_ = 0;
  bool have_config_ = false;
};

}  // namespace

Program parse_text(const std::string& text) { return TraceParser().parse(text); }

}  // namespace hakfuzz
