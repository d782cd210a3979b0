#include "program/recorded_program.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

namespace hakfuzz {

namespace {

using hakmem::preload::RecordEvent;
using hakmem::preload::RecordKind;

// Op::alloc_of_size's largest large size.
constexpr std::size_t kLargestReplayed = hakmem::kMaxClassSize + 1 + std::size_t{0xFFFF} * 16;

hakmem::Config parse_recorded_config(const std::string& words) {
  std::vector<std::pair<std::string, std::string>> vars;
  std::istringstream in(words);
  for (std::string w; in >> w;) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("recording: bad config word '" + w + "'");
    vars.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  try {
    return hakmem::parse_config(hakmem::map_env(vars));
  } catch (const hakmem::ConfigError& e) {
    throw std::invalid_argument(std::string("recording: config: ") + e.what());
  }
}

}  // namespace

RecordedProgram to_remote_program(const hakmem::preload::Recording& recording, int threads,
                                  std::size_t max_ops) {
  RecordedProgram out;
  out.program.config = parse_recorded_config(recording.config);
  std::map<std::uint32_t, int> logical;                       // recorded thread -> logical thread
  std::vector<int> on(static_cast<std::size_t>(threads), 0);  // recorded threads on each logical one
  std::vector<std::uint64_t> live;                            // block indices, in the runner's order
  int used = 1;
  const auto logical_of = [&](std::uint32_t t) {
    if (auto it = logical.find(t); it != logical.end()) return it->second;
    ++out.os_threads;
    auto free_one = std::ranges::find(on, 0);
    int l = static_cast<int>(free_one - on.begin());
    if (free_one == on.end()) {
      l = static_cast<int>(t % static_cast<std::uint32_t>(threads));
      ++out.shared_threads;
    }
    ++on[static_cast<std::size_t>(l)];
    used = std::max(used, l + 1);
    return logical[t] = l;
  };
  std::vector<Op>& ops = out.program.ops;
  for (const RecordEvent& e : recording.events) {
    if (ops.size() >= max_ops) {
      ++out.events_left;
      continue;
    }
    ++out.events_used;
    const int t = logical_of(e.thread);
    switch (e.kind) {
      case RecordKind::alloc:
      case RecordKind::realloc:
        ++(e.kind == RecordKind::alloc ? out.allocs : out.reallocs);
        out.clamped_sizes += e.size > kLargestReplayed;
        ops.push_back(Op::alloc_of_size(t, std::min<std::uint64_t>(e.size, kLargestReplayed)));
        live.push_back(e.seq);
        break;
      case RecordKind::free: {
        const auto it = std::ranges::find(live, e.ref);
        if (it == live.end()) {
          ++out.unknown_frees;
        } else if (it - live.begin() > 255) {
          ++out.far_frees;
        } else {
          ++out.frees;
          ops.push_back(Op::free(t, static_cast<std::uint8_t>(it - live.begin())));
          live.erase(it);
        }
        break;
      }
      case RecordKind::resize:
        ++out.resizes;
        break;
      case RecordKind::thread_start:
        break;
      case RecordKind::thread_exit:
        logical.erase(e.thread);
        if (--on[static_cast<std::size_t>(t)] == 0) {
          ++out.exits;
          ops.push_back(Op::exit(t));
        }
        break;
      default:
        break;
    }
  }
  out.program.threads = static_cast<std::uint8_t>(std::clamp(used, 2, threads));
  return out;
}

}  // namespace hakfuzz
