#include "ops.h"

#include <sstream>
#include <stdexcept>

namespace hakfuzz {

namespace {

// Argument bytes per opcode: a (1), b (2), c (2) as used.
constexpr int kArgBytes[kNumOpCodes] = {3, 1, 5, 2, 3, 0, 0};

const char* const kOpNames[kNumOpCodes] = {"alloc", "free", "bad_free", "refresh", "fault", "check", "exit"};
const char* const kBadNames[kNumBadKinds] = {"interior", "slab_header", "double_free", "stack",
                                             "unused_slab"};

}  // namespace

std::size_t alloc_size(const Op& op) {
  switch (op.a % 16) {
    case 0:
      return 0;
    case 1:
      return 53248 + 1 + op.b * 16;  // large, up to ~1 MiB
    default:
      return op.b % (53248 + 1);  // every class, every size
  }
}

Program decode(std::span<const std::uint8_t> bytes, bool multi_thread) {
  Program p;
  std::size_t i = 0;
  if (i < bytes.size()) p.flags = bytes[i++] & 3;
  if (i < bytes.size()) p.classes = bytes[i++] & 0x7F;
  if (multi_thread)
    p.threads = static_cast<std::uint8_t>(2 + (i < bytes.size() ? bytes[i++] : 0) % (kMaxThreads - 1));
  const int codes = multi_thread ? kNumOpCodes : kNumSingleOpCodes;
  while (i < bytes.size()) {
    Op op;
    std::uint8_t head = bytes[i++];
    op.code = static_cast<OpCode>(head % codes);
    op.thread = static_cast<std::uint8_t>(head / codes % p.threads);
    int need = kArgBytes[static_cast<int>(op.code)];
    if (i + need > bytes.size()) break;
    const std::uint8_t* q = bytes.data() + i;
    if (need >= 1) op.a = q[0];
    if (need >= 3) op.b = static_cast<std::uint16_t>(q[1] | q[2] << 8);
    if (need >= 5) op.c = static_cast<std::uint16_t>(q[3] | q[4] << 8);
    if (op.code == OpCode::bad_free) op.a %= kNumBadKinds;
    if (op.code == OpCode::refresh) {
      op.a &= 3;
      op.b = static_cast<std::uint16_t>(q[1] & 0x7F);
    }
    if (op.code == OpCode::fault) {  // operands exactly as the trace shows them
      op.a %= kMaxFaultNth + 1;
      op.b = static_cast<std::uint16_t>(1 + q[1] % kMaxFaultCount);
    }
    i += need;
    p.ops.push_back(op);
  }
  return p;
}

std::vector<std::uint8_t> encode(const Program& p) {
  std::vector<std::uint8_t> out = {p.flags, p.classes};
  const int codes = p.threads > 1 ? kNumOpCodes : kNumSingleOpCodes;
  if (p.threads > 1) out.push_back(static_cast<std::uint8_t>(p.threads - 2));
  for (const Op& op : p.ops) {
    out.push_back(static_cast<std::uint8_t>(static_cast<int>(op.code) + codes * op.thread));
    int need = kArgBytes[static_cast<int>(op.code)];
    if (op.code == OpCode::refresh) {
      out.push_back(op.a);
      out.push_back(static_cast<std::uint8_t>(op.b));
      continue;
    }
    if (op.code == OpCode::fault) {
      out.insert(out.end(), {op.a, static_cast<std::uint8_t>(op.b - 1), 0});
      continue;
    }
    if (need >= 1) out.push_back(op.a);
    if (need >= 3)
      out.insert(out.end(), {static_cast<std::uint8_t>(op.b), static_cast<std::uint8_t>(op.b >> 8)});
    if (need >= 5)
      out.insert(out.end(), {static_cast<std::uint8_t>(op.c), static_cast<std::uint8_t>(op.c >> 8)});
  }
  return out;
}

std::string to_text(const Program& p) {
  std::ostringstream out;
  out << "config v2=" << (p.flags & 1) << " stats=" << ((p.flags >> 1) & 1) << " classes=" << int(p.classes)
      << (p.threads > 1 ? " threads=" + std::to_string(p.threads) : std::string()) << "\n";
  for (const Op& op : p.ops) {
    if (p.threads > 1) out << "t" << int(op.thread) << " ";
    out << kOpNames[static_cast<int>(op.code)];
    switch (op.code) {
      case OpCode::alloc:
        out << " sel=" << int(op.a) << " n=" << op.b << "  # size " << alloc_size(op);
        break;
      case OpCode::free:
        out << " block=" << int(op.a);
        break;
      case OpCode::bad_free:
        out << " " << kBadNames[op.a] << " block=" << op.b << " off=" << op.c;
        break;
      case OpCode::refresh:
        out << " v2=" << (op.a & 1) << " stats=" << (op.a >> 1) << " classes=" << op.b;
        break;
      case OpCode::fault:
        out << " nth=" << int(op.a) << " count=" << op.b;
        break;
      case OpCode::check:
      case OpCode::exit:
        break;
    }
    out << "\n";
  }
  return out.str();
}

Program parse_text(const std::string& text) {
  Program p;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  bool have_config = false;
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("trace line " + std::to_string(lineno) + ": " + why + ": '" + line + "'");
  };
  auto field = [&](std::istringstream& ls, const std::string& key, unsigned max) -> unsigned {
    std::string word;
    if (!(ls >> word) || word.rfind(key, 0) != 0) fail("expected " + key);
    std::string digits = word.substr(key.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6)
      fail("bad number after " + key);
    unsigned v = static_cast<unsigned>(std::stoul(digits));
    if (v > max) fail(key + " out of range (max " + std::to_string(max) + ")");
    return v;
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line.substr(0, line.find('#')));  // '#' starts a comment
    std::string word;
    if (!(ls >> word)) continue;
    if (word == "config") {
      p.flags = static_cast<std::uint8_t>(field(ls, "v2=", 1) | field(ls, "stats=", 1) << 1);
      p.classes = static_cast<std::uint8_t>(field(ls, "classes=", 0x7F));
      std::string more;
      if (ls >> more) {
        std::istringstream rest(more);
        p.threads = static_cast<std::uint8_t>(field(rest, "threads=", kMaxThreads));
        if (p.threads < 2) fail("threads= must be 2..8 (omit it for a single-thread program)");
      }
      have_config = true;
      continue;
    }
    if (!have_config) fail("the first line must be 'config ...'");
    Op op;
    if (p.threads > 1) {
      if (word.size() < 2 || word[0] != 't' || word.find_first_not_of("0123456789", 1) != std::string::npos ||
          std::stoul(word.substr(1)) >= p.threads)
        fail("expected a thread 't0'..'t" + std::to_string(p.threads - 1) + "'");
      op.thread = static_cast<std::uint8_t>(std::stoul(word.substr(1)));
      if (!(ls >> word)) fail("missing op");
    }
    if (word == "alloc") {
      op.code = OpCode::alloc;
      op.a = static_cast<std::uint8_t>(field(ls, "sel=", 255));
      op.b = static_cast<std::uint16_t>(field(ls, "n=", 65535));
    } else if (word == "free") {
      op.code = OpCode::free;
      op.a = static_cast<std::uint8_t>(field(ls, "block=", 255));
    } else if (word == "bad_free") {
      op.code = OpCode::bad_free;
      std::string kind;
      ls >> kind;
      int k = 0;
      while (k < kNumBadKinds && kind != kBadNames[k]) ++k;
      if (k == kNumBadKinds) fail("unknown bad_free kind");
      op.a = static_cast<std::uint8_t>(k);
      op.b = static_cast<std::uint16_t>(field(ls, "block=", 65535));
      op.c = static_cast<std::uint16_t>(field(ls, "off=", 65535));
    } else if (word == "refresh") {
      op.code = OpCode::refresh;
      op.a = static_cast<std::uint8_t>(field(ls, "v2=", 1) | field(ls, "stats=", 1) << 1);
      op.b = static_cast<std::uint16_t>(field(ls, "classes=", 0x7F));
    } else if (word == "fault") {
      op.code = OpCode::fault;
      op.a = static_cast<std::uint8_t>(field(ls, "nth=", kMaxFaultNth));
      op.b = static_cast<std::uint16_t>(field(ls, "count=", kMaxFaultCount));
      if (op.b == 0) fail("count= must be 1..8");
    } else if (word == "check") {
      op.code = OpCode::check;
    } else if (word == "exit" && p.threads > 1) {
      op.code = OpCode::exit;
    } else {
      fail("unknown op");
    }
    if (ls >> word) fail("trailing words");
    p.ops.push_back(op);
  }
  if (!have_config) throw std::invalid_argument("trace: empty (no 'config' line)");
  return p;
}

}  // namespace hakfuzz
