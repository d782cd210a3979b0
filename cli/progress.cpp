#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdint>

namespace hakfuzz::cli {

namespace {

std::string clock_text(double seconds) {
  auto s = static_cast<long>(seconds + 0.5);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressLine::ProgressLine(const sweep::SweepProgress& progress, std::size_t total)
    : progress_(progress), total_(total), tty_(isatty(fileno(stderr)) != 0) {
  thread_ = std::thread([this] { loop(); });
}

ProgressLine::~ProgressLine() { stop(); }

void ProgressLine::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  draw(true);
}

void ProgressLine::loop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(tty_ ? 250 : 1000), [this] { return stopping_; }))
    draw(false);
}

// Plain mode: true when `done` reaches a tenth of the cells not reported yet
// (several tenths passed between two polls make one line). The last tenth is
// left to the final line.
bool ProgressLine::report_tenths(std::size_t done) {
  auto tenth = [this](std::size_t k) { return (k * total_ + 9) / 10; };  // cells done at k tenths, rounded up
  if (done >= total_) return false;
  bool reached = false;
  while (tenths_reported_ < 9 && done >= tenth(tenths_reported_ + 1)) ++tenths_reported_, reached = true;
  return reached;
}

void ProgressLine::draw(bool final) {
  std::size_t done = progress_.done.load(), bad = progress_.not_passed.load();
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string eta =
      done ? clock_text(elapsed * static_cast<double>(total_ - done) / static_cast<double>(done)) : "?";
  std::string line = fmt::format("[{:>{}}/{}] configs done, {} not passed, elapsed {}, ETA {}", done,
                                 std::to_string(total_).size(), total_, bad, clock_text(elapsed), eta);
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  } else if (final || report_tenths(done)) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace hakfuzz::cli
