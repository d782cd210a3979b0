#include "fuzz/interleave_input.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fuzz/sha1.h"

namespace hakfuzz {

namespace {

std::uint64_t le64(Bytes b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && at + i < b.size(); ++i) v |= std::uint64_t{b[at + i]} << (8 * i);
  return v;
}

std::string schedule_text(const ScheduleSpec& s) {
  std::string out = std::string("schedule ") + schedule_kind_name(s.mode);
  if (s.mode == ScheduleKind::choices)
    for (std::uint8_t c : s.choices) out += " " + std::to_string(c);
  else
    out += " seed=" + std::to_string(s.seed);
  if (s.mode == ScheduleKind::pct) out += " depth=" + std::to_string(s.depth);
  if (s.memory != MemoryKind::sc) out += std::string(" memory=") + memory_kind_name(s.memory);
  if (s.history != kDefaultStoreHistory) out += " history=" + std::to_string(s.history);
  return out + "\n";
}

ScheduleSpec parse_schedule(const std::string& line) {
  std::istringstream words(line);
  std::string word, mode;
  words >> word >> mode;
  ScheduleSpec s;
  auto number = [&](const std::string& w, const std::string& key, std::uint64_t max) {
    if (w.rfind(key, 0) != 0 || w.size() == key.size() ||
        w.find_first_not_of("0123456789", key.size()) != std::string::npos || w.size() - key.size() > 20)
      throw std::invalid_argument("trace: bad schedule word '" + w + "' (expected " + key + "N)");
    const std::uint64_t v = std::stoull(w.substr(key.size()));
    if (v > max) throw std::invalid_argument("trace: " + key + " out of range: '" + w + "'");
    return v;
  };
  // memory=M and history=N, after the picks.
  auto memory = [&](const std::string& w) {
    if (w.rfind("history=", 0) == 0) {
      s.history = static_cast<int>(number(w, "history=", kMaxStoreHistory));
      if (s.history < 1)
        throw std::invalid_argument("trace: history= must be 1.." + std::to_string(kMaxStoreHistory));
      return true;
    }
    if (w.rfind("memory=", 0) != 0) return false;
    const std::optional<MemoryKind> m = parse_memory_kind(w.substr(7));
    if (!m) throw std::invalid_argument("trace: bad '" + w + "' (expected memory=sc, c11 or tso)");
    s.memory = *m;
    return true;
  };
  if (mode == "choices") {
    while (words >> word)
      if (!memory(word)) s.choices.push_back(static_cast<std::uint8_t>(number(word, "", 255)));
  } else if (mode == "random" || mode == "pct") {
    s.mode = mode == "random" ? ScheduleKind::random : ScheduleKind::pct;
    if (!(words >> word)) throw std::invalid_argument("trace: schedule " + mode + " needs seed=S");
    s.seed = number(word, "seed=", UINT64_MAX);
    if (s.mode == ScheduleKind::pct) {
      if (!(words >> word)) throw std::invalid_argument("trace: schedule pct needs depth=D");
      s.depth = static_cast<int>(number(word, "depth=", 8));
      if (s.depth < 1) throw std::invalid_argument("trace: depth= must be 1..8");
    }
    while (words >> word)
      if (!memory(word)) throw std::invalid_argument("trace: trailing words after the schedule");
  } else {
    throw std::invalid_argument("trace: expected 'schedule choices|random|pct ...'");
  }
  return s;
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out.flush()) throw UserError("cannot write '" + path.string() + "'");
}

}  // namespace

InterleaveInput decode_interleave(Bytes in) {
  const std::size_t len = in.size() < 2 ? 0 : std::min<std::size_t>(in[0] | in[1] << 8, in.size() - 2);
  InterleaveInput out{decode(in.subspan(std::min<std::size_t>(2, in.size()), len), true), {}};
  Bytes rest = in.subspan(std::min(in.size(), 2 + len));
  if (rest.empty()) return out;
  // The schedule byte: its kind, 3 * the memory model (sc, c11, tso) and 9
  // * the store history when not the default (files older than the models
  // hold a kind alone: sc).
  out.schedule.mode = static_cast<ScheduleKind>(rest[0] % 3);
  out.schedule.memory = static_cast<MemoryKind>(rest[0] / 3 % 3);
  if (const int history = rest[0] / 9) out.schedule.history = history;
  if (out.schedule.mode == ScheduleKind::choices) out.schedule.choices.assign(rest.begin() + 1, rest.end());
  out.schedule.seed = le64(rest, 1);
  if (out.schedule.mode == ScheduleKind::pct) out.schedule.depth = 1 + (rest.size() > 9 ? rest[9] % 8 : 2);
  return out;
}

std::vector<std::uint8_t> encode_interleave(const InterleaveInput& in) {
  std::vector<std::uint8_t> program = encode(in.program);
  std::vector<std::uint8_t> out;
  out.reserve(2 + program.size() + 10 + in.schedule.choices.size());
  out.push_back(static_cast<std::uint8_t>(program.size()));
  out.push_back(static_cast<std::uint8_t>(program.size() >> 8));
  out.insert(out.end(), program.begin(), program.end());
  const int history = in.schedule.history == kDefaultStoreHistory ? 0 : in.schedule.history;
  out.push_back(static_cast<std::uint8_t>(static_cast<int>(in.schedule.mode) +
                                          3 * static_cast<int>(in.schedule.memory) + 9 * history));
  if (in.schedule.mode == ScheduleKind::choices) {
    out.insert(out.end(), in.schedule.choices.begin(), in.schedule.choices.end());
    return out;
  }
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(in.schedule.seed >> (8 * i)));
  if (in.schedule.mode == ScheduleKind::pct) out.push_back(static_cast<std::uint8_t>(in.schedule.depth - 1));
  return out;
}

std::string interleave_to_text(Bytes input) {
  const InterleaveInput in = decode_interleave(input);
  std::string out = to_text(in.program) + schedule_text(in.schedule);
  for (const std::string& line : run_interleave_target(input, true).trace) out += "#" + line + "\n";
  return out;
}

std::vector<std::uint8_t> interleave_from_text(const std::string& text) {
  std::string program, schedule;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#", 0) == 0) continue;
    if (line.rfind("schedule", 0) == 0) {
      if (!schedule.empty()) throw std::invalid_argument("trace: a second schedule line");
      schedule = line;
    } else {
      program += line + "\n";
    }
  }
  InterleaveInput in{parse_text(program), schedule.empty() ? ScheduleSpec{} : parse_schedule(schedule)};
  if (in.program.threads < 2)
    throw std::invalid_argument("trace: this target needs 'threads=2..8' on the config line");
  return encode_interleave(in);
}

std::string write_interleave_finding(const std::string& dir, const Minimized& m) {
  const std::vector<std::uint8_t> bytes = encode_interleave({m.program, m.schedule});
  const std::filesystem::path under = std::filesystem::path(dir) / "interleave";
  std::error_code ec;
  std::filesystem::create_directories(under, ec);
  if (ec) throw UserError("cannot create the directory '" + under.string() + "': " + ec.message());
  const std::string path = (under / sha1_hex(bytes)).string();
  write_file(path, std::string(bytes.begin(), bytes.end()));
  write_file(path + ".txt", interleave_to_text(bytes));
  return path;
}

}  // namespace hakfuzz
