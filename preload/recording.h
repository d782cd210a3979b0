// The allocation stream a preloaded process records for `hakfuzz record`:
// with HAKFUZZ_PRELOAD_RECORD=DIR set, each process that loads the shim
// writes DIR/<pid>.rec (DIR/<pid>.<k>.rec when an exec()ed program reuses
// the pid). A fork()ed child records nothing (its blocks are the parent's).
//
// Layout: a 256-byte text header, then fixed 32-byte events, each appended
// with one write(2) to an O_APPEND descriptor (no allocation, no buffer to
// lose at _exit or exec). Events are numbered by one process-wide atomic
// sequence; threads write concurrently, so the file is sorted by `seq` when
// read. An alloc's `seq` is the block's index: a free, realloc or resize
// names its block by that index (`ref`), never by address, so a replay is
// independent of where the pool put anything.
//
// Only the pool's own blocks are recorded (requests the shim routes to it):
// the replay runs against a pool alone, and glibc's blocks (most small
// requests) would flood the file without touching the pool.
//
// The cap: events numbered from HAKFUZZ_PRELOAD_RECORD_MAX on are not
// written; the first of them writes a `truncated` event instead, and the
// program runs on unrecorded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <istream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hakmem::preload {

inline constexpr const char* kRecordDirEnv = "HAKFUZZ_PRELOAD_RECORD";
inline constexpr const char* kRecordMaxEnv = "HAKFUZZ_PRELOAD_RECORD_MAX";
inline constexpr std::uint64_t kRecordDefaultMax = 300000;
inline constexpr std::uint64_t kRecordLargestMax = 100'000'000;  // the address table stays a few GiB
inline constexpr std::size_t kRecordHeaderBytes = 256;
inline constexpr std::uint64_t kNoBlock = ~std::uint64_t{0};

enum class RecordKind : std::uint8_t {
  alloc = 1,         // a pool block of `size` bytes; its index is `seq`
  free = 2,          // block `ref` freed
  realloc = 3,       // realloc moved a block into a new pool block of `size`; `ref` the
                     // old pool block (freed by the `free` that follows) or kNoBlock (glibc's)
  resize = 4,        // realloc kept block `ref` in place at `size` bytes (no pool call)
  thread_start = 5,  // the thread `thread` made its first recorded call; `size` its OS tid
  thread_exit = 6,   // the thread's destructors ran; a later call starts a new `thread`
  truncated = 7,     // the cap: `seq` is the first event not recorded
  end = 8,           // the process reached exit(); `seq` is the number of events numbered
};

struct RecordEvent {
  std::uint64_t seq = 0;
  std::uint64_t size = 0;
  std::uint64_t ref = kNoBlock;
  std::uint32_t thread = 0;  // 1, 2, ... in the order threads first recorded
  RecordKind kind = RecordKind::alloc;
  std::uint8_t pad[3] = {};
};
static_assert(sizeof(RecordEvent) == 32);

// The header's text: "hakrec 1 pid=P max_events=N config=NAME=VALUE ...",
// padded with spaces to kRecordHeaderBytes - 1, then '\n'.
inline constexpr const char* kRecordMagic = "hakrec 1 ";

struct Recording {
  long pid = 0;
  std::uint64_t max_events = 0;
  std::string config;               // the pool's flags, NAME=VALUE words
  std::vector<RecordEvent> events;  // by seq; truncated and end excluded
  std::optional<std::uint64_t> truncated_at;
  bool ended = false;
};

// Throws std::runtime_error naming what is wrong.
inline Recording read_recording(std::istream& in) {
  std::string header(kRecordHeaderBytes, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header.size())) ||
      header.rfind(kRecordMagic, 0) != 0 || header.back() != '\n')
    throw std::runtime_error("not a hakfuzz recording (no 'hakrec 1' header)");
  Recording r;
  std::istringstream words(header.substr(std::string(kRecordMagic).size()));
  for (std::string w; words >> w;) {
    if (w.rfind("pid=", 0) == 0) {
      r.pid = std::stol(w.substr(4));
    } else if (w.rfind("max_events=", 0) == 0) {
      r.max_events = std::stoull(w.substr(11));
    } else if (w.rfind("config=", 0) == 0) {
      r.config = w.substr(7);
      for (std::string more; words >> more;) r.config += " " + more;
    }
  }
  RecordEvent e;
  while (in.read(reinterpret_cast<char*>(&e), sizeof e)) {
    if (e.kind == RecordKind::truncated)
      r.truncated_at = e.seq;
    else if (e.kind == RecordKind::end)
      r.ended = true;
    else if (e.kind >= RecordKind::alloc && e.kind <= RecordKind::thread_exit)
      r.events.push_back(e);
    else
      throw std::runtime_error("unknown event kind " + std::to_string(int(e.kind)) + " at seq " +
                               std::to_string(e.seq));
  }
  if (in.gcount() != 0) throw std::runtime_error("a partial event at the end (file cut short?)");
  std::ranges::sort(r.events, {}, &RecordEvent::seq);
  return r;
}

}  // namespace hakmem::preload
