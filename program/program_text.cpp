// The text form of a program (program.h): one op per line, what people
// read and write; to_text and parse_text round-trip exactly.
#include <algorithm>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "program/program.h"

namespace hakfuzz {

namespace {

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
      base.set(hakmem::env_flag_of(*spec), hakmem::parse_flag_value(*spec, word.substr(eq + 1)));
    } catch (const hakmem::ConfigError& e) {
      fail(e.what());
    }
  }
  return base;
}

}  // namespace

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
      while (k < kNumBadKinds && kind != bad_kind_name(static_cast<BadKind>(k))) ++k;
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
