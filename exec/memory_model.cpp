#include "exec/memory_model.h"

#include <algorithm>

#include "hakmem/sched.h"
#include "support/digest.h"

namespace hakfuzz {
namespace {

bool acquires(std::memory_order o) {
  return o == std::memory_order_acquire || o == std::memory_order_consume || o == std::memory_order_acq_rel ||
         o == std::memory_order_seq_cst;
}
bool releases(std::memory_order o) {
  return o == std::memory_order_release || o == std::memory_order_acq_rel || o == std::memory_order_seq_cst;
}

int strength(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed:
      return 0;
    case std::memory_order_consume:
    case std::memory_order_acquire:
    case std::memory_order_release:
      return 1;
    case std::memory_order_acq_rel:
      return 2;
    case std::memory_order_seq_cst:
      break;
  }
  return 3;
}

constexpr std::memory_order kOrders[] = {std::memory_order_relaxed, std::memory_order_acquire,
                                         std::memory_order_release, std::memory_order_acq_rel,
                                         std::memory_order_seq_cst};

constexpr MemoryKind kKinds[] = {MemoryKind::sc, MemoryKind::c11, MemoryKind::tso};

}  // namespace

const char* memory_kind_name(MemoryKind m) {
  static constexpr const char* kNames[] = {"sc", "c11", "tso"};  // by MemoryKind's value
  return kNames[static_cast<int>(m)];
}

std::memory_order weakened(std::memory_order written, std::memory_order to) {
  return strength(to) < strength(written) ? to : written;
}

const char* order_name(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed:
      return "relaxed";
    case std::memory_order_consume:
      return "consume";
    case std::memory_order_acquire:
      return "acquire";
    case std::memory_order_release:
      return "release";
    case std::memory_order_acq_rel:
      return "acq_rel";
    case std::memory_order_seq_cst:
      break;
  }
  return "seq_cst";
}

std::optional<std::memory_order> parse_order(std::string_view name) {
  for (std::memory_order o : kOrders)
    if (name == order_name(o)) return o;
  return std::nullopt;
}

std::optional<Weakening> parse_weakening(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::optional<std::memory_order> order = parse_order(text.substr(colon + 1));
  if (!order) return std::nullopt;
  for (int p = 0; p < hakmem::sched::kNumPoints; ++p)
    if (text.substr(0, colon) == hakmem::sched::point_info(static_cast<hakmem::sched::Point>(p)).name)
      return Weakening{p, *order};
  return std::nullopt;
}

std::string weakening_text(const Weakening& w) {
  if (w.point < 0) return "";
  return std::string(hakmem::sched::point_info(static_cast<hakmem::sched::Point>(w.point)).name) + ":" +
         order_name(w.order);
}

std::optional<MemoryKind> parse_memory_kind(std::string_view name) {
  for (MemoryKind m : kKinds)
    if (name == memory_kind_name(m)) return m;
  return std::nullopt;
}

MemoryModel::MemoryModel(int threads, MemoryKind kind, int history)
    : threads_(threads),
      kind_(kind),
      history_(static_cast<std::size_t>(std::max(history, 1))),
      clocks_(static_cast<std::size_t>(threads) + 1),
      buffers_(static_cast<std::size_t>(threads) + 1) {}

void MemoryModel::job_begins(int thread) {
  drain_all(thread);
  VectorClock& c = clocks_[static_cast<std::size_t>(thread)];
  c.tick(thread);
  c.join(clocks_[static_cast<std::size_t>(driver())]);
}

void MemoryModel::job_ends(int thread) {
  drain_all(thread);
  VectorClock& d = clocks_[static_cast<std::size_t>(driver())];
  d.join(clocks_[static_cast<std::size_t>(thread)]);
  d.tick(driver());
}

void MemoryModel::acquired(int thread, const void* mutex) {
  drain_all(thread);
  VectorClock& c = clocks_[static_cast<std::size_t>(thread)];
  c.tick(thread);
  if (auto it = mutexes_.find(mutex); it != mutexes_.end()) c.join(it->second);
}

void MemoryModel::released(int thread, const void* mutex) {
  drain_all(thread);
  VectorClock& c = clocks_[static_cast<std::size_t>(thread)];
  c.tick(thread);
  mutexes_[mutex].join(c);
}

void MemoryModel::fence(int thread) { drain_all(thread); }

void MemoryModel::drain(int thread, std::uint64_t ran) {
  std::deque<Buffered>& buffer = buffers_[static_cast<std::size_t>(thread)];
  while (!buffer.empty() && buffer.front().ran <= ran) {
    const Buffered next = buffer.front();
    // Stores of other threads left the history's front or the history
    // restarted: nothing of this one is left to order.
    if (auto it = locations_.find(next.location); it != locations_.end()) {
      for (Store& s : it->second.stores) {  // in modification order: the order they ran
        if (s.ran >= next.ran) {
          if (s.ran == next.ran) s.buffered = false;
          break;
        }
        // An older store of the location still buffered elsewhere goes
        // first; it ran earlier, so this recursion ends.
        if (s.buffered) drain(s.ref.thread, s.ran);
      }
    }
    buffer.pop_front();
  }
}

bool MemoryModel::happens_before_now(int thread, int other, std::uint32_t epoch) const {
  if (other < 0 || other == thread) return true;  // unseen stores come first; program order
  return clock(thread).at(other) >= epoch;
}

// The location's record; a value the model did not see stored (the first
// access, or a store that bypassed the wrappers: a page's initialisation)
// starts its history afresh, ordered before everything.
MemoryModel::Location& MemoryModel::location(const void* p, std::uint64_t real) {
  Location& l = locations_[p];
  if (l.seen.empty()) l.seen.assign(static_cast<std::size_t>(threads_) + 1, {0, 0});
  if (l.stores.empty() || l.stores.back().ref.value != real) {
    l.stores.clear();
    Store s;
    s.ref = {-1, 0, real};
    s.mo = l.next_mo++;
    l.stores.push_back(std::move(s));
  }
  return l;
}

void MemoryModel::saw(Location& l, int thread, std::uint64_t mo) {
  auto& seen = l.seen[static_cast<std::size_t>(thread)];
  seen = {std::max(seen.first, mo), clock(thread).at(thread)};
}

std::vector<MemoryModel::StoreRef> MemoryModel::readable(int thread, const void* p, std::uint64_t real,
                                                         std::memory_order order) {
  Location& l = location(p, real);
  l.candidates.clear();
  if (kind_ == MemoryKind::sc) {
    l.candidates.push_back(l.stores.back());
    return {l.candidates.back().ref};
  }
  std::uint64_t floor = 0;
  if (kind_ == MemoryKind::tso) {
    // Memory's newest store, or the thread's own newest still buffered.
    for (const Store& s : l.stores)
      if (!s.buffered || s.ref.thread == thread) floor = std::max(floor, s.mo);
  } else {
    floor = c11_floor(l, thread, order);
  }
  std::vector<StoreRef> out;
  for (const Store& s : l.stores)
    if (s.mo >= floor) {
      l.candidates.push_back(s);
      out.push_back(s.ref);
    }
  return out;
}

std::uint64_t MemoryModel::c11_floor(const Location& l, int thread, std::memory_order order) const {
  std::uint64_t floor = 0;
  for (const Store& s : l.stores)
    if (happens_before_now(thread, s.ref.thread, s.epoch)) floor = std::max(floor, s.mo);
  for (std::size_t u = 0; u < l.seen.size(); ++u) {
    const auto [mo, epoch] = l.seen[u];
    if (epoch > 0 && happens_before_now(thread, static_cast<int>(u), epoch)) floor = std::max(floor, mo);
  }
  if (order == std::memory_order_seq_cst && l.last_seq_cst > 0) floor = std::max(floor, l.last_seq_cst - 1);
  return floor;
}

void MemoryModel::load(int thread, const void* p, std::size_t chosen, std::memory_order order) {
  Location& l = locations_.at(p);
  const Store& s = l.candidates.at(chosen);
  if (s.buffered && s.ref.thread != thread) drain(s.ref.thread, s.ran);
  VectorClock& c = clocks_[static_cast<std::size_t>(thread)];
  c.tick(thread);
  if (synchronises(acquires(order))) c.join(s.release);
  saw(l, thread, s.mo);
}

void MemoryModel::append(const void* p, Location& l, int thread, std::uint64_t value, std::memory_order order,
                         std::size_t step, const VectorClock* sequence) {
  const VectorClock& c = clock(thread);
  Store s;
  s.ref = {thread, step, value};
  s.mo = l.next_mo++;
  s.epoch = c.at(thread);
  s.ran = stores_ran_++;
  if (sequence) s.release = *sequence;
  if (synchronises(releases(order))) s.release.join(c);
  if (order == std::memory_order_seq_cst) l.last_seq_cst = s.mo + 1;
  if (kind_ == MemoryKind::tso && !sequence) {
    s.buffered = true;
    buffers_[static_cast<std::size_t>(thread)].push_back({p, s.ran});
  }
  const std::uint64_t mo = s.mo;
  l.stores.push_back(std::move(s));
  if (l.stores.size() > history_) {
    if (l.stores.front().buffered) drain(l.stores.front().ref.thread, l.stores.front().ran);
    l.stores.pop_front();
  }
  saw(l, thread, mo);
  // An xchg: the store and everything before it leave the buffer now.
  if (kind_ == MemoryKind::tso && order == std::memory_order_seq_cst) drain_all(thread);
}

void MemoryModel::store(int thread, const void* p, std::uint64_t before, std::uint64_t value,
                        std::memory_order order, std::size_t step) {
  Location& l = location(p, before);
  clocks_[static_cast<std::size_t>(thread)].tick(thread);
  append(p, l, thread, value, order, step, nullptr);
}

void MemoryModel::rmw(int thread, const void* p, std::uint64_t read, std::uint64_t written,
                      std::memory_order order, std::size_t step) {
  Location& l = location(p, read);
  if (kind_ == MemoryKind::tso) {
    // A locked instruction: the thread's buffer drains, and it reads memory
    // once the location's newest store has reached it.
    drain_all(thread);
    if (l.stores.back().buffered) drain(l.stores.back().ref.thread, l.stores.back().ran);
  }
  VectorClock& c = clocks_[static_cast<std::size_t>(thread)];
  c.tick(thread);
  const VectorClock sequence = l.stores.back().release;  // the release sequence it continues
  if (synchronises(acquires(order))) c.join(sequence);
  append(p, l, thread, written, order, step, &sequence);
}

std::uint64_t MemoryModel::clock_digest(int thread) const {
  support::Digest h;
  for (int t = 0; t <= threads_; ++t) h.mix(clock(thread).at(t));
  return h.value();
}

std::uint64_t MemoryModel::state_digest(
    const std::function<std::uint64_t(int thread, std::size_t step)>& store_name) const {
  const auto mix_clock = [&](support::Digest& h, const VectorClock& c) {
    for (int t = 0; t <= threads_; ++t) h.mix(c.at(t));
  };
  support::Digest h;
  for (const VectorClock& c : clocks_) mix_clock(h, c);
  // Locations and mutexes are keyed by address: summed, in any order.
  std::uint64_t mutexes = 0, locations = 0;
  for (const auto& [mutex, clock] : mutexes_) {
    support::Digest m;
    mix_clock(m, clock);
    mutexes += m.value();
  }
  for (const auto& [p, l] : locations_) {
    support::Digest d;
    d.mix(l.next_mo);
    d.mix(l.last_seq_cst);
    for (const auto& [mo, epoch] : l.seen) d.mix(mo << 32 ^ epoch);
    // Not a store's value: it follows from its thread's steps before it,
    // which the caller's state names, and may be an address (a thread
    // context) that differs from run to run.
    for (const Store& s : l.stores) {
      d.mix(s.ref.thread < 0 ? ~0ull : store_name(s.ref.thread, s.ref.step));
      d.mix(s.mo);
      d.mix(s.epoch);
      d.mix(s.buffered);
      mix_clock(d, s.release);
    }
    locations += d.value();
  }
  h.mix(mutexes);
  h.mix(locations);
  for (const std::deque<Buffered>& buffer : buffers_) h.mix(buffer.size());
  return h.value();
}

}  // namespace hakfuzz
