// The sweep's progress display on stderr: a live line redrawn in place on a
// terminal, a plain line every 10% (or 30 s) otherwise, so CI logs stay short.
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

  const sweep::SweepProgress& progress_;
  const std::size_t total_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_plain_ = start_;
  std::size_t next_plain_ = 0, last_printed_ = SIZE_MAX;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hakfuzz::cli
