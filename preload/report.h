// The report a preloaded process leaves for `hakfuzz run`: with
// HAKFUZZ_PRELOAD_REPORT=DIR set, each process that loads the shim appends
// to DIR/<pid>.report, one record per line (a fork()ed child starts its own
// file; an exec()ed program is a new process with its own):
//   start pid=P ppid=Q forked=0|1 flavour=NAME config=TEXT   at start-up (exe=PATH follows)
//   reject ptr=0xADDR reason=NAME cls=C frames=N             a free the pool rejected,
//                                                            then N raw backtrace lines
//   walk when=exit|signal threads=T [skipped=1] startup_live=.. startup_large=.. ok=0|1
//        live_blocks=.. live_bytes=.. remote_pending=.. [error=TEXT]   see WalkRecord
//   census cached=.. remote_pending=.. large_blocks=.. large_bytes=..
//   slab <SlabCensus fields, in declaration order>          one per committed slab
//   counts pool_allocs=.. pool_frees=.. foreign_frees=.. rejected=..
//   exit                                                     the process reached exit()
// The shim writes it; cli/cmd_run.cpp reads it back and judges it (the
// nothing-kept rules live in oracle/model.h, not here).
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "hakmem/types.h"

namespace hakmem::preload {

// The environment variables the shim reads besides the pool's own flags.
inline constexpr const char* kReportDirEnv = "HAKFUZZ_PRELOAD_REPORT";
inline constexpr const char* kWalkSignalEnv = "HAKFUZZ_PRELOAD_WALK_SIGNAL";

// One slab of a census as its "slab" line (without the word).
inline std::string format_slab(const SlabCensus& s) {
  std::ostringstream o;
  o << s.slab << ' ' << int(s.kind) << ' ' << s.cls << ' ' << int(s.queue) << ' ' << int(s.owner) << ' '
    << s.owner_slot << ' ' << int(s.owner_hinted) << ' ' << s.capacity << ' ' << s.used << ' ' << s.free_stack
    << ' ' << s.cached << ' ' << s.remote_pending;
  return o.str();
}

inline std::optional<SlabCensus> parse_slab(std::istream& in) {
  SlabCensus s;
  int kind, queue, owner, hinted;
  if (!(in >> s.slab >> kind >> s.cls >> queue >> owner >> s.owner_slot >> hinted >> s.capacity >> s.used >>
        s.free_stack >> s.cached >> s.remote_pending))
    return std::nullopt;
  s.kind = static_cast<BlockKind>(kind);
  s.queue = static_cast<SlabQueue>(queue);
  s.owner = static_cast<SlabOwner>(owner);
  s.owner_hinted = hinted != 0;
  return s;
}

struct Rejection {
  std::string ptr, reason;
  int cls = -1;
  std::vector<std::string> frames;
};

// The invariant walk at a quiescent point: only when the process has one
// thread (`skipped` otherwise, with the thread count).
struct WalkRecord {
  std::string when;
  int threads = 0;
  bool skipped = false;
  bool ok = true;
  std::uint64_t live_blocks = 0, live_bytes = 0, remote_pending = 0;
  // Of the live blocks, those made before the shim's constructor ran
  // (libstdc++'s emergency exception pool), and how many are large.
  std::uint64_t startup_live = 0, startup_large = 0;
  std::string error;
};

struct ProcessReport {
  std::string file;
  long pid = 0, ppid = 0;
  bool forked = false;
  std::string flavour, config, exe;
  std::vector<Rejection> rejections;
  std::vector<WalkRecord> walks;
  std::optional<Census> census;  // at exit, with the walk
  std::uint64_t pool_allocs = 0, pool_frees = 0, foreign_frees = 0, rejected = 0;
  bool exited = false;
};

// key=value words of a line; the value of the last key runs to the end of
// the line when `rest_key` names it (config=, exe=, error= hold spaces).
inline std::string field(const std::string& line, const std::string& key, bool to_end = false) {
  const std::string k = " " + key + "=";
  std::size_t at = line.find(k);
  if (at == std::string::npos) return {};
  at += k.size();
  if (to_end) return line.substr(at);
  std::size_t end = line.find(' ', at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

inline std::uint64_t number_field(const std::string& line, const std::string& key) {
  const std::string v = field(line, key);
  return v.empty() ? 0 : std::stoull(v);
}

inline ProcessReport parse_report(std::istream& in) {
  ProcessReport r;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "start") {
      r.pid = static_cast<long>(number_field(line, "pid"));
      r.ppid = static_cast<long>(number_field(line, "ppid"));
      r.forked = field(line, "forked") == "1";
      r.flavour = field(line, "flavour");
      std::string rest = field(line, "config", true);
      std::size_t exe = rest.find(" exe=");
      r.config = rest.substr(0, exe);
      if (exe != std::string::npos) r.exe = rest.substr(exe + 5);
    } else if (kind == "reject") {
      Rejection j{field(line, "ptr"), field(line, "reason"), std::stoi(field(line, "cls")), {}};
      for (std::uint64_t n = number_field(line, "frames"); n > 0 && std::getline(in, line); --n)
        j.frames.push_back(line);
      r.rejections.push_back(std::move(j));
    } else if (kind == "walk") {
      WalkRecord w;
      w.when = field(line, "when");
      w.threads = static_cast<int>(number_field(line, "threads"));
      w.skipped = field(line, "skipped") == "1";
      w.ok = field(line, "ok") != "0";
      w.live_blocks = number_field(line, "live_blocks");
      w.live_bytes = number_field(line, "live_bytes");
      w.remote_pending = number_field(line, "remote_pending");
      w.startup_live = number_field(line, "startup_live");
      w.startup_large = number_field(line, "startup_large");
      w.error = field(line, "error", true);
      r.walks.push_back(std::move(w));
    } else if (kind == "census") {
      Census c;
      c.cached_blocks = number_field(line, "cached");
      c.remote_pending = number_field(line, "remote_pending");
      c.large_blocks = number_field(line, "large_blocks");
      c.large_bytes = number_field(line, "large_bytes");
      r.census = std::move(c);
    } else if (kind == "slab" && r.census) {
      if (std::optional<SlabCensus> s = parse_slab(words)) r.census->slabs.push_back(*s);
    } else if (kind == "counts") {
      r.pool_allocs = number_field(line, "pool_allocs");
      r.pool_frees = number_field(line, "pool_frees");
      r.foreign_frees = number_field(line, "foreign_frees");
      r.rejected = number_field(line, "rejected");
    } else if (kind == "exit") {
      r.exited = true;
    }
  }
  return r;
}

}  // namespace hakmem::preload
