// Resident set size from /proc/self/status: VmRSS now, VmHWM the peak.
#pragma once
#include <fstream>
#include <string>

namespace hakfuzz::stress {

struct Rss {
  long current_kb = 0, peak_kb = 0;
};

inline Rss read_rss() {
  Rss r;
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:" && in >> value) r.current_kb = value;
    if (key == "VmHWM:" && in >> value) r.peak_kb = value;
  }
  return r;
}

}  // namespace hakfuzz::stress
