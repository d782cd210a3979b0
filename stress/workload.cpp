#include "stress/workload.h"

#include <fmt/format.h>

#include <cstring>
#include <map>

#include "hakmem/variants.h"
#include "stress/digest.h"
#include "stress/rng.h"

namespace hakfuzz::stress {

namespace {

using hakmem::FreeOutcome;
using hakmem::FreeRoute;
using hakmem::kClassSizes;
using hakmem::kMaxClassSize;
using hakmem::kNumClasses;

constexpr std::size_t kLiveCap = 192;   // bounds the footprint of a cell
constexpr std::size_t kFreedRing = 64;  // candidates for double frees
constexpr std::size_t kMaxLarge = 200 * 1024;
constexpr std::size_t kMaxFindings = 8;  // the first ones explain; the rest is noise

// Sizes: every class evenly, 1/8 large, and the boundaries where off-by-one
// bugs live (0, class sizes and one past them, past kMaxRequest).
std::size_t pick_size(SplitMix64& rng) {
  std::uint64_t k = rng.below(64);
  if (k < 4) {
    static constexpr std::size_t kEdges[] = {
        0,     1,     8,     2048,  2049,  4096,  4097,  8192,  8193,      16384,
        16385, 32768, 32769, 40960, 40961, 53248, 53249, 65536, kMaxLarge, hakmem::kMaxRequest + 1};
    return kEdges[rng.below(std::size(kEdges))];
  }
  if (k < 12) return kMaxClassSize + 1 + rng.below(kMaxLarge - kMaxClassSize);
  int c = static_cast<int>(rng.below(kNumClasses));
  std::size_t lo = c ? kClassSizes[c - 1] + 1 : 1;
  return lo + rng.below(kClassSizes[c] - lo + 1);
}

// Fill words from the block id alone, so verification needs no copy.
std::uint64_t pattern_word(std::uint64_t id, std::size_t i) { return mix64(id) + i * 0x9E3779B97F4A7C15ull; }

void fill(void* p, std::size_t size, std::uint64_t id) {
  auto* b = static_cast<unsigned char*>(p);
  std::size_t words = size / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w = pattern_word(id, i);
    std::memcpy(b + i * 8, &w, 8);
  }
  for (std::size_t i = words * 8; i < size; ++i) b[i] = static_cast<unsigned char>(id + i);
}

// Offset of the first corrupted byte, or -1.
std::ptrdiff_t verify(const void* p, std::size_t size, std::uint64_t id) {
  const auto* b = static_cast<const unsigned char*>(p);
  std::size_t words = size / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, b + i * 8, 8);
    if (w != pattern_word(id, i)) return static_cast<std::ptrdiff_t>(i * 8);
  }
  for (std::size_t i = words * 8; i < size; ++i)
    if (b[i] != static_cast<unsigned char>(id + i)) return static_cast<std::ptrdiff_t>(i);
  return -1;
}

template <class P>
class Runner {
 public:
  Runner(P& pool, const WorkloadSpec& spec) : pool_(pool), spec_(spec), rng_(spec.seed) {}

  WorkloadResult run() {
    for (std::uint64_t op = 0; op < spec_.ops; ++op) {
      if (op == spec_.ops / 2) refresh();
      step();
    }
    res_.ops = spec_.ops + live_.size();  // the final frees are ops too
    while (!live_.empty()) free_live(live_.size() - 1);
    res_.final_check = check("end");
    res_.stats = pool_.stats();
    res_.digest = dg_.value();
    return res_;
  }

 private:
  struct Live {
    void* p;
    std::size_t size, usable;
    std::uint64_t id;
    hakmem::BlockKind kind;
  };

  template <class... A>
  void finding(fmt::format_string<A...> f, A&&... a) {
    if (res_.findings.size() < kMaxFindings) res_.findings.push_back(fmt::format(f, std::forward<A>(a)...));
  }

  void step() {
    std::uint64_t r = rng_.below(100);
    if (live_.size() < 8 || (r < 45 && live_.size() < kLiveCap)) return alloc();
    if (r < 80 || live_.size() >= kLiveCap) return free_live(rng_.below(live_.size()));
    if (r < 88) return interior_free();
    if (r < 95) return double_free();
    foreign_free();
  }

  void alloc() {
    std::size_t size = pick_size(rng_);
    void* p = pool_.alloc(size);
    dg_.add('A', size);
    if (!p) {
      dg_.add('N', 0);
      if (size <= hakmem::kMaxRequest) finding("alloc({}) returned null", size);
      return;
    }
    std::size_t usable = pool_.usable_size(p);
    hakmem::BlockInfo info = pool_.block_info(p);
    if (auto off = pool_.arena_offset(p))
      dg_.add('O', *off);
    else
      dg_.add('L', large_seq_++);
    dg_.add('U', usable);
    res_.tally.note_alloc(info);
    if (usable < size) finding("alloc({}) gave usable size {}", size, usable);
    if (!info.live || info.usable != usable) finding("block_info of a fresh block disagrees (size {})", size);
    auto start = reinterpret_cast<std::uintptr_t>(p);
    auto next = extents_.lower_bound(start);
    bool overlaps = (next != extents_.end() && next->first < start + usable) ||
                    (next != extents_.begin() && std::prev(next)->second > start);
    if (overlaps) finding("alloc({}) overlaps a live block", size);
    extents_[start] = start + usable;
    std::uint64_t id = next_id_++;
    fill(p, size, id);
    live_.push_back({p, size, usable, id, info.kind});
  }

  void free_live(std::size_t k) {
    Live b = live_[k];
    live_[k] = live_.back();
    live_.pop_back();
    if (std::ptrdiff_t bad = verify(b.p, b.size, b.id); bad >= 0)
      finding("block {} ({} bytes) corrupted at byte {} before its free", b.id, b.size, bad);
    FreeOutcome out = note_free(b.p);
    extents_.erase(reinterpret_cast<std::uintptr_t>(b.p));
    // The OS may hand a large range out again at any time, so whether an old
    // large pointer is live again is not deterministic: large blocks are
    // double-freed at once or never, pool blocks (arena offsets) any time later.
    bool again = rng_.below(4) == 0;
    if (b.kind != hakmem::BlockKind::large)
      freed_[freed_next_++ % kFreedRing] = b.p;
    else if (again)
      expect_rejected(b.p, "large double");
    FreeRoute want = b.kind == hakmem::BlockKind::large ? FreeRoute::large
                     : b.kind == hakmem::BlockKind::v1  ? FreeRoute::v1
                                                        : FreeRoute::v2_local;
    if (out.route != want)
      finding("free of a live {} block routed {} (reason {})", hakmem::block_kind_name(b.kind),
              hakmem::free_route_name(out.route), hakmem::verdict_name(out.reason));
  }

  // Inside a live block, never its start: must be rejected, block untouched.
  void interior_free() {
    const Live& b = live_[rng_.below(live_.size())];
    std::size_t span = std::min<std::size_t>(b.usable, 65536);
    if (span < 2) return;
    expect_rejected(static_cast<char*>(b.p) + 1 + rng_.below(span - 1), "interior");
  }

  void double_free() {
    void* p = freed_[rng_.below(kFreedRing)];
    if (!p || extents_.count(reinterpret_cast<std::uintptr_t>(p))) return;  // reused: a valid block now
    expect_rejected(p, "double");
  }

  // Pointers that were never blocks: harness memory, an untouched arena
  // slab, a slab header, and null (a no-op).
  void foreign_free() {
    static char not_ours[64];
    std::uintptr_t base = pool_.arena_base();
    switch (rng_.below(4)) {
      case 0:
        return expect_rejected(not_ours + 8, "foreign");
      case 1:
        return expect_rejected(reinterpret_cast<void*>(base + spec_.arena_bytes - 4096), "unused-slab");
      case 2:
        return expect_rejected(reinterpret_cast<void*>(base + 16), "slab-header");
      default:
        if (note_free(nullptr).route != FreeRoute::null) finding("free(nullptr) was not a no-op");
    }
  }

  void expect_rejected(void* p, const char* what) {
    FreeOutcome out = note_free(p);
    if (out.route != FreeRoute::rejected)
      finding("{} free was accepted (route {}, page_of {})", what, hakmem::free_route_name(out.route),
              hakmem::verdict_name(out.page_of));
  }

  FreeOutcome note_free(void* p) {
    FreeOutcome out = pool_.free(p);
    res_.tally.note_free(out);
    dg_.add('F', static_cast<std::uint64_t>(out.route));
    dg_.add(static_cast<std::uint64_t>(out.page_of) | static_cast<std::uint64_t>(out.reason) << 8 |
            static_cast<std::uint64_t>(out.cls + 1) << 16 | static_cast<std::uint64_t>(out.entered_v2) << 24);
    return out;
  }

  // The seed's allocator re-reads its env caches; the same config must come back.
  void refresh() {
    hakmem::Config before = pool_.config();
    pool_.set_env_source(hakmem::map_env(spec_.env));
    std::optional<hakmem::ConfigError> err = pool_.refresh_from_env();
    dg_.add('R', err ? 1 : 0);
    if (err) finding("refresh_from_env() failed: {}", err->what());
    if (!(pool_.config() == before)) finding("refresh_from_env() to the same env changed the config");
    check("mid-run");
  }

  hakmem::InvariantReport check(const char* when) {
    hakmem::InvariantReport r = pool_.check();
    std::uint64_t bytes = 0;
    for (const Live& b : live_) bytes += b.usable;
    if (!r.ok) finding("{} invariant walk: {}", when, r.first_error);
    if (r.live_blocks != live_.size() || r.live_bytes != bytes)
      finding("{} accounting: pool has {} blocks / {} bytes live, harness {} / {}", when, r.live_blocks,
              r.live_bytes, live_.size(), bytes);
    for (std::uint64_t v : {std::uint64_t{r.ok}, r.live_blocks, r.live_bytes, r.remote_pending, r.v1_pages,
                            r.v2_pages, r.orphan_pages, r.cold_pages, r.large_blocks})
      dg_.add('C', v);
    return r;
  }

  P& pool_;
  const WorkloadSpec& spec_;
  SplitMix64 rng_;
  Digest dg_;
  WorkloadResult res_;
  std::vector<Live> live_;
  std::map<std::uintptr_t, std::uintptr_t> extents_;  // live start -> end, for overlap checks
  std::array<void*, kFreedRing> freed_{};
  std::size_t freed_next_ = 0;
  std::uint64_t next_id_ = 1, large_seq_ = 0;
};

}  // namespace

template <class P>
WorkloadResult run_workload(P& pool, const WorkloadSpec& spec) {
  return Runner<P>(pool, spec).run();
}

template WorkloadResult run_workload(hakmem::PoolStatsOff&, const WorkloadSpec&);
template WorkloadResult run_workload(hakmem::PoolStatsOn&, const WorkloadSpec&);

}  // namespace hakfuzz::stress
