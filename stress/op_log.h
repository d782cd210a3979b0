// Per-worker logs of the last stress ops, each stamped with a ticket from one
// process-wide counter: merged by ticket they give an order of the ops that
// is consistent with every hand-off (a block's alloc ticket is taken before
// it is published, its free ticket after it is received), which is what the
// failure report prints and what the `remote` replay is built from.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

namespace hakfuzz::stress {

enum class LoggedKind : std::uint8_t { alloc, free, exit };

struct LoggedOp {
  std::uint64_t ticket = 0;
  std::uint64_t block = 0;  // the block's canary head word (unique per run)
  std::uint32_t size = 0;
  LoggedKind kind = LoggedKind::alloc;
  std::uint8_t worker = 0;
};

class TicketCounter {
 public:
  // Relaxed: the ticket orders, it must not synchronise (TSan would then
  // miss the allocator's own races).
  std::uint64_t take() { return next_.fetch_add(1, std::memory_order_relaxed); }
  // The next ticket, without taking it (names where a quiescent check ran).
  std::uint64_t peek() const { return next_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> next_{0};
};

// A ring of the last `capacity` ops of one worker; only that worker writes it,
// others read it at quiescent points.
class OpLog {
 public:
  explicit OpLog(std::size_t capacity = 4096) : ring_(capacity) {}
  void push(const LoggedOp& op) { ring_[count_++ % ring_.size()] = op; }
  std::uint64_t count() const { return count_; }
  bool wrapped() const { return count_ > ring_.size(); }
  // The last n ops, oldest first.
  std::vector<LoggedOp> last(std::size_t n) const {
    n = std::min<std::uint64_t>({n, count_, ring_.size()});
    std::vector<LoggedOp> out;
    for (std::uint64_t i = count_ - n; i < count_; ++i) out.push_back(ring_[i % ring_.size()]);
    return out;
  }
  std::vector<LoggedOp> all() const { return last(ring_.size()); }

 private:
  std::vector<LoggedOp> ring_;
  std::uint64_t count_ = 0;
};

// The ops of every log in ticket order, from the first ticket all logs still
// hold (a log that wrapped has lost older ops, and a gap would make the
// merge lie), keeping at most the last `max_ops`.
inline std::vector<LoggedOp> merge_by_ticket(const std::vector<const OpLog*>& logs, std::size_t max_ops) {
  std::uint64_t first = 0;
  std::vector<LoggedOp> all;
  for (const OpLog* log : logs) {
    std::vector<LoggedOp> ops = log->all();
    if (log->wrapped() && !ops.empty()) first = std::max(first, ops.front().ticket);
    all.insert(all.end(), ops.begin(), ops.end());
  }
  std::erase_if(all, [&](const LoggedOp& op) { return op.ticket < first; });
  std::ranges::sort(all, {}, &LoggedOp::ticket);
  if (all.size() > max_ops) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(max_ops));
  return all;
}

}  // namespace hakfuzz::stress
