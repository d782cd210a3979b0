// The sweep's progress display on stderr: a live line redrawn in place when
// stderr is a terminal; otherwise (CI, a pipe, a file) one plain line each
// time another tenth of the cells is done and a final line, each flushed, so
// logs stay short and show progress as it happens.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "sweep/sweep.h"

namespace hakfuzz::cli {

class ProgressLine {
 public:
  ProgressLine(const sweep::SweepProgress& progress, std::size_t total);
  ~ProgressLine();  // stops and draws the last state
  void stop();

 private:
  void loop();
  void draw(bool final);
  bool report_tenths(std::size_t done);

  const sweep::SweepProgress& progress_;
  const std::size_t total_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::size_t tenths_reported_ = 0;  // plain mode: lines printed for 10%, 20%, ...
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hakfuzz::cli
