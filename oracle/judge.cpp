#include "oracle/judge.h"

#include <algorithm>
#include <sstream>
#include <type_traits>

#include "oracle/plants.h"
#include "oracle/type_names.h"

namespace hakfuzz {

using hakmem::BlockKind;
using hakmem::FreeOutcome;
using hakmem::FreeRoute;
using hakmem::Verdict;
using model::Block;
using model::Expected;

hakmem::EnvSource program_env(hakmem::Config config) {
  config.invalid_free = static_cast<std::uint32_t>(hakmem::InvalidFreePolicy::quiet);
  return hakmem::config_env(config);
}

std::unique_ptr<PoolUnderTest> make_run_pool(const hakmem::Config& config, const PoolSetup& setup) {
  hakmem::PoolOptions po;
  po.env = setup.env ? setup.env : program_env(config);
  po.arena_bytes = kRunArenaBytes;
  po.arena_cache = &harness_arena_cache();
  po.report = setup.report;
  return setup.plant ? make_pool(setup.flavour, std::move(po), *setup.plant)
                     : make_pool(setup.flavour, std::move(po));
}

std::vector<Divergence> quiescent_divergences(const hakmem::InvariantReport& walk,
                                              const hakmem::Census& census, const Holdings& held) {
  std::vector<Divergence> out;
  if (!walk.ok) {
    out.push_back({FindingKind::invariant, "invariant walk: " + walk.first_error});
    return out;  // the counts of a broken pool say nothing more
  }
  if (walk.live_blocks != held.blocks)
    out.push_back({FindingKind::accounting, "accounting: pool has " + std::to_string(walk.live_blocks) +
                                                " live blocks, the harness holds " +
                                                std::to_string(held.blocks)});
  if (walk.live_bytes != held.bytes)
    out.push_back({FindingKind::accounting, "accounting: pool has " + std::to_string(walk.live_bytes) +
                                                " live bytes, the harness holds " +
                                                std::to_string(held.bytes)});
  if (auto kept = model::check_retention(census)) out.push_back({FindingKind::retained, *kept});
  return out;
}

std::optional<std::string> nothing_kept(PoolUnderTest& pool, const model::Routing& routing) {
  pool.collect();
  if (auto kept = model::check_empty(pool.census())) return kept;
  pool.set_fault_plan({});
  const hakmem::Census c = pool.census();
  for (int cls = 0; cls < hakmem::kNumClasses; ++cls) {
    const BlockKind kind = routing.kind_for(hakmem::kClassSizes[cls]);
    if ((kind == BlockKind::v2 ? c.v2_slabs : c.v1_slabs)[cls] == 0) continue;
    const std::uint64_t before = pool.os_counters().acquisitions;
    void* p = pool.alloc(hakmem::kClassSizes[cls]);
    const bool fresh = pool.os_counters().acquisitions != before;
    pool.free(p);
    if (fresh)
      return "after everything was freed, an allocation of class " + std::to_string(cls) +
             " acquired a fresh page though " + block_kind_name(kind) + " pages of the class exist";
  }
  pool.collect();
  return std::nullopt;
}

// ---------------------------------------------------------------- Judge

Judge::Judge(PoolUnderTest& pool, const hakmem::Config& config, Options options)
    : pool_(pool), options_(std::move(options)), routing_(config) {
  const hakmem::Config read = pool_.config();
  for (const hakmem::FlagSpec* f : program_flags()) {
    const auto flag = hakmem::env_flag_of(*f);
    if (read.get(flag) != config.get(flag))
      find(FindingKind::config,
           std::string("the pool read ") + read.describe() + ", the program sets " + config_text(config));
  }
}

void Judge::begin_op(std::size_t index, const Op& op) {
  op_ = index;
  digest_.mix(static_cast<std::uint64_t>(op.code()) | std::uint64_t(op.thread()) << 8);
}

void Judge::find(FindingKind kind, const std::string& what) {
  if (!result_.finding) result_.finding = Finding{kind, op_, what};
}

std::string Judge::where(const void* p) const {
  if (!p) return "null";
  if (auto off = pool_.arena_offset(p)) {
    std::ostringstream s;
    s << "arena+0x" << std::hex << *off;
    return s.str();
  }
  return "large";
}

std::optional<Judge::BlockId> Judge::on_alloc(int thread, std::size_t size, void* p,
                                              const hakmem::BlockInfo& info,
                                              std::optional<Acquisitions> acq) {
  const int cls = hakmem::size_class_of(size);
  const BlockKind want = routing_.kind_for(size);
  const BlockKind got = p ? info.kind : BlockKind::none;
  note([&] { return who(thread) + "alloc " + std::to_string(size) + " -> " + where(p); });
  const auto off = p ? pool_.arena_offset(p) : std::nullopt;
  digest_.mix(p ? (off ? *off : 1ull << 63) : 0);
  results_.push_back({op_, 0, p ? (off ? *off : 1ull << 63) : 0});
  const bool refill_failed = acq && model::v2_refill_failed(want, acq->before + 1, acq->made, faults_);
  result_.tally.alloc(cls, routing_.routed(cls), got, refill_failed);
  const std::string call = "alloc(" + std::to_string(size) + ")";
  if (acq) {
    if (auto wrong = model::check_acquisitions(want, got, acq->before + 1, acq->made, faults_)) {
      find(p ? FindingKind::alloc_route : FindingKind::alloc_null, call + ": " + *wrong);
      return std::nullopt;
    }
  } else if (!p) {
    find(FindingKind::alloc_null, call + " returned null");
    return std::nullopt;
  } else if (got != want) {
    find(FindingKind::alloc_route,
         call + " routed to " + block_kind_name(got) + ", model expects " + block_kind_name(want));
    return std::nullopt;
  }
  if (!p) return std::nullopt;
  if (!options_.overlapping) digest_.mix(info.usable);
  if (!info.live || info.usable < std::max<std::size_t>(size, 1)) {
    find(FindingKind::usable_size, call + ": usable " + std::to_string(info.usable) + " < request");
    return std::nullopt;
  }
  Block b{static_cast<char*>(p), size, info.usable, info.kind, info.cls, 0, thread};
  if (auto overlap = live_.add(b)) {
    find(FindingKind::overlap, *overlap);
    return std::nullopt;
  }
  if (acq && got != BlockKind::large && acq->made > (refill_failed ? 1u : 0u))
    check_commit(size, *info.arena_offset >> hakmem::kSlabShift, got, info.cls);
  const Block& added = live_.blocks().back();
  all_.push_back(added);
  model::fill(added);
  if (options_.probe_page_of) probe_around(added);
  return added.id;
}

Judge::Freeing* Judge::freeing(BlockId id) {
  const auto it = std::ranges::find(freeing_, id, [](const Freeing& f) { return f.block.id; });
  return it == freeing_.end() ? nullptr : &*it;
}

void* Judge::free_begin(BlockId id) {
  if (Freeing* f = freeing(id)) {  // another free of this life is in flight
    ++f->in_flight;
    return f->block.ptr;
  }
  const std::size_t k = live_.index_of(id);
  if (k == live_.size() || live_.blocks()[k].id != id) {  // its life ended: a double free of its pointer
    freeing_.push_back({all_[id - 1], 1, true});
    return freeing_.back().block.ptr;
  }
  // A double free of an older life at this address, in flight, may have
  // claimed the block already: its contents are the pool's (poisoned under
  // ASan), and whichever free wins is judged at the end.
  const bool address_being_freed = std::ranges::any_of(
      freeing_, [&](const Freeing& f) { return f.block.ptr == live_.at(k).ptr && f.in_flight > 0; });
  if (!address_being_freed && !model::contents_intact(live_.at(k))) {
    find(FindingKind::contents, "contents of block " + std::to_string(id) + " changed while it was live");
    return nullptr;
  }
  freeing_.push_back({live_.take(k), 1, false});
  return freeing_.back().block.ptr;
}

void Judge::free_clock(BlockId id, int thread, const support::VectorClock& clock) {
  const Freeing* f = freeing(id);
  if (!f || f->claimed) return;  // a double free of an ended life: nothing of it to hand over
  const void* ptr = f->block.ptr;
  std::erase_if(last_free_, [&](const LastFree& l) { return l.ptr == ptr; });
  last_free_.push_back({ptr, f->in_flight > 1 ? -1 : thread, op_, clock});
}

void Judge::hand_over(BlockId id, int thread, const support::VectorClock& clock) {
  const void* ptr = all_[id - 1].ptr;
  const auto it = std::ranges::find_if(last_free_, [&](const LastFree& l) { return l.ptr == ptr; });
  if (it == last_free_.end()) return;
  const LastFree freed = *it;
  last_free_.erase(it);
  if (freed.thread < 0 || freed.thread == thread || freed.clock.at(freed.thread) <= clock.at(freed.thread))
    return;
  find(FindingKind::reuse_race,
       "block " + std::to_string(id) + " freed by t" + std::to_string(freed.thread) + " at op " +
           std::to_string(freed.op) + " handed to t" + std::to_string(thread) + " at op " +
           std::to_string(op_) +
           " with no happens-before between them (a data race on its contents): the free's clock " +
           freed.clock.text() + ", the allocation's " + clock.text());
}

void Judge::free_end(BlockId id, int thread, const FreeOutcome& got) {
  Freeing& f = *freeing(id);
  --f.in_flight;
  const Block b = f.block;
  results_.push_back({op_, pool_.arena_offset(b.ptr).value_or(1ull << 63), hakmem::pack(got)});
  const bool succeeded = got.route != FreeRoute::rejected && got.route != FreeRoute::null;
  if (succeeded && !f.claimed) {
    f.claimed = true;
    compare(got, model::expect_free(b, thread, routing_), [&] { return free_name(thread, id); });
  } else if (succeeded) {
    claim_newer_life(b, thread, got);
  } else {
    static int outside_every_arena = 0;
    const model::BadPointer twice = model::craft_bad_free(
        BadKind::double_free, &b, 0, pool_.arena_base() + kRunArenaBytes, &outside_every_arena, routing_);
    compare(got, twice.want, [&] { return free_name(thread, id); });
  }
  settle(b.ptr, thread);
  if (options_.probe_page_of && !found()) probe_around(b);
}

// Once no free of an address is in flight, every life at it whose free
// began must have been freed by one of them.
void Judge::settle(const void* address, int thread) {
  for (const Freeing& f : freeing_)
    if (f.block.ptr == address && f.in_flight > 0) return;
  for (const Freeing& f : freeing_)
    if (f.block.ptr == address && !f.claimed)
      find(FindingKind::free_outcome,
           free_name(thread, f.block.id) +
               ": every free of the block was rejected while it was live (the pool "
               "lost it)");
  std::erase_if(freeing_, [&](const Freeing& f) { return f.block.ptr == address; });
}

// A free whose block's life had already ended succeeded: it must have
// freed a newer block at the same address, live (or being freed by its
// holder, and not yet) while this free ran.
void Judge::claim_newer_life(const Block& named, int thread, const FreeOutcome& got) {
  auto name = [&](BlockId newer) {
    return free_name(thread, named.id) + " (its address now block " + std::to_string(newer) + ")";
  };
  // The oldest first: a life whose free began, then the live one.
  for (Freeing& other : freeing_)
    if (!other.claimed && other.block.ptr == named.ptr) {
      other.claimed = true;
      return compare(got, model::expect_free(other.block, thread, routing_),
                     [&] { return name(other.block.id); });
    }
  const std::size_t k = live_.index_at(named.ptr);
  if (k != live_.size()) {
    const Block newer = live_.take(k);
    return compare(got, model::expect_free(newer, thread, routing_), [&] { return name(newer.id); });
  }
  note([&] { return free_name(thread, named.id) + " -> " + model::describe(got); });
  find(FindingKind::free_outcome,
       free_name(thread, named.id) + ": pool says " + model::describe(got) +
           ", but the block's life had ended and no newer block was at its address "
           "(a double free accepted: the block can be handed out twice)");
}

template <class What>
void Judge::compare(const FreeOutcome& got, const Expected& want, What what) {
  digest_.mix(static_cast<std::uint64_t>(got.route) | std::uint64_t(got.page_of) << 8 |
              std::uint64_t(got.reason) << 16 | std::uint64_t(got.entered_v2) << 24);
  note([&] { return what() + " -> " + model::describe(got); });
  if (!want.matches(got))
    return find(FindingKind::free_outcome,
                what() + ": pool says " + model::describe(got) + ", model expects " + want.describe());
  result_.tally.free(got);
}

// The plan of an interleaved run names the block; it may have left the
// live set since (a racing double free of an older life at its address
// freed it), and then there is nothing to aim at.
const model::Block* Judge::live_block(BlockId id) {
  const std::size_t k = live_.index_of(id);
  return k < live_.size() && live_.at(k).id == id ? &live_.at(k) : nullptr;
}

std::optional<model::BadPointer> Judge::craft_bad_free(const Op& op, std::optional<BlockId> target) {
  const Block* aimed = nullptr;
  const auto blocks = live_.blocks();
  switch (op.bad_kind()) {
    case BadKind::interior:
      if (target)
        aimed = live_block(*target);
      else if (!blocks.empty())
        aimed = &blocks[op.bad_pick() % blocks.size()];
      break;
    case BadKind::slab_header: {  // the pick-th live block in a slab, counted in place
      if (target) {
        aimed = live_block(*target);
        break;
      }
      auto pooled = [](const Block& b) { return b.kind != BlockKind::large; };
      const auto n = static_cast<std::size_t>(std::ranges::count_if(blocks, pooled));
      if (n == 0) break;
      std::size_t k = op.bad_pick() % n;
      for (const Block& b : blocks)
        if (pooled(b) && k-- == 0) {
          aimed = &b;
          break;
        }
      break;
    }
    case BadKind::double_free: {
      if (live_.freed().empty()) break;
      auto it = live_.freed().begin();
      std::advance(it, op.bad_pick() % live_.freed().size());
      aimed = &it->second;
      break;
    }
    case BadKind::stack:
    case BadKind::unused_slab:
      break;
  }
  const bool needs_target = op.bad_kind() != BadKind::stack && op.bad_kind() != BadKind::unused_slab;
  if (needs_target && !aimed) return std::nullopt;
  // Any address outside every arena will do; this one stays valid.
  static int outside_every_arena = 0;
  return model::craft_bad_free(op.bad_kind(), aimed, op.bad_offset(), pool_.arena_base() + kRunArenaBytes,
                               &outside_every_arena, routing_);
}

bool Judge::check_page_of(const model::BadPointer& bad, Verdict seen) {
  if (seen == bad.want.page_of) return true;
  find(FindingKind::page_of, bad.what() + ": page_of says " + hakmem::verdict_name(seen) +
                                 ", model expects " + hakmem::verdict_name(bad.want.page_of));
  return false;
}

void Judge::bad_free_end(const model::BadPointer& bad, const FreeOutcome& got) {
  results_.push_back({op_, pool_.arena_offset(bad.ptr).value_or(1ull << 63), hakmem::pack(got)});
  compare(got, bad.want, [&] { return bad.what(); });
}

void Judge::probe_around(const Block& b) {
  if (b.kind == BlockKind::large) {
    if (pool_.page_of(b.ptr) != Verdict::unknown)
      find(FindingKind::page_of, "page_of of a large block is not unknown");
    else if (pool_.block_info(b.ptr + 16).live)
      find(FindingKind::usable_size, "block_info calls a large block's interior a live block");
    return;
  }
  const std::uintptr_t slab =
      reinterpret_cast<std::uintptr_t>(b.ptr) & ~(std::uintptr_t{hakmem::kSlabSize} - 1);
  for (std::uintptr_t a : model::probe_addresses(b)) {
    const Verdict want = model::geometric_verdict(b, a);
    if (want == Verdict::unknown) continue;  // fell into a neighbouring slab
    const Verdict got = pool_.page_of(reinterpret_cast<void*>(a));
    digest_.mix(static_cast<std::uint64_t>(got));
    // Geometry alone says these are no block start, on either route (on a v1
    // page page_of says header_missing everywhere).
    const bool no_block = want == Verdict::misaligned || want == Verdict::out_of_range;
    if (no_block && pool_.block_info(reinterpret_cast<void*>(a)).live)
      return find(FindingKind::usable_size, "block_info(slab+" + std::to_string(a - slab) +
                                                ") calls a live block what is no block start (" +
                                                hakmem::verdict_name(want) + ")");
    if (got != want)
      return find(FindingKind::page_of, "page_of(slab+" + std::to_string(a - slab) + ") of class " +
                                            std::to_string(b.cls) + " " + block_kind_name(b.kind) +
                                            " page is " + hakmem::verdict_name(got) + ", geometry says " +
                                            hakmem::verdict_name(want));
  }
}

void Judge::on_exit(int thread) {
  live_.orphan_blocks_of(thread);
  for (Freeing& f : freeing_)
    if (f.block.owner == thread) f.block.orphaned = true;
}

void Judge::on_refresh(const hakmem::Config& config) {
  routing_ = model::Routing(config);
  pool_.set_env_source(program_env(config));
  if (auto err = pool_.refresh_from_env())
    return find(FindingKind::config, std::string("refresh_from_env failed: ") + err->what());
  note([&] { return "refresh " + pool_.config().describe(); });
}

// The plan counts acquisitions from now on, as the pool's counter does.
void Judge::on_fault(int nth, int count) {
  hakmem::FaultPlan plan;
  faults_ = {};
  if (nth != 0) {
    plan.fail_nth = faults_.nth = static_cast<std::uint64_t>(nth);
    plan.fail_count = faults_.count = static_cast<std::uint64_t>(count);
  }
  pool_.set_fault_plan(plan);
  note(faults_.nth ? "fault armed" : "fault disarmed");
}

// The allocation acquired `slab`: was it needed (model::check_commit)? One
// thread's pages then never outnumber ceil(peak live / capacity).
void Judge::check_commit(std::size_t size, std::uint32_t slab, BlockKind kind, int cls) {
  quiesce();
  pool_.census_into(census_);
  quiesce();
  if (auto wrong = model::check_commit(census_, slab))
    return find(FindingKind::retained, "alloc(" + std::to_string(size) + "): " + *wrong);
  if (options_.threads > 1) return;
  const std::uint64_t pages = (kind == BlockKind::v2 ? census_.v2_slabs : census_.v1_slabs)[cls];
  const std::uint64_t cap = hakmem::kGeometry[cls].capacity;
  if (pages > (live_.peak(kind, cls) + cap - 1) / cap)
    find(FindingKind::retained, std::to_string(pages) + " " + block_kind_name(kind) + " pages of class " +
                                    std::to_string(cls) + " for at most " +
                                    std::to_string(live_.peak(kind, cls)) + " blocks ever live (" +
                                    std::to_string(cap) + " per page)");
}

void Judge::check() {
  quiesce();
  const hakmem::InvariantReport r = pool_.check();
  pool_.census_into(census_);
  quiesce();
  note([&] { return "check live=" + std::to_string(r.live_blocks); });
  const std::vector<Divergence> wrong = quiescent_divergences(r, census_, {live_.size(), live_.live_bytes()});
  if (!wrong.empty()) find(wrong.front().kind, wrong.front().what);
  if (options_.plant_walk_faults && !found()) plant_walk_faults();
  ++checks_;
}

// Each invariant fault the pool has a place for, planted in turn (the place
// picked by the check's number) and undone: the walk must name each.
void Judge::plant_walk_faults() {
  quiesce();
  std::string planted;
  for (int i = 1; i < hakmem::kNumInvariantFaults && !found(); ++i) {
    const auto fault = static_cast<hakmem::InvariantFault>(i);
    const std::optional<hakmem::InvariantReport> r = pool_.check_with_fault(fault, checks_);
    if (!r) continue;
    planted += std::string(planted.empty() ? "" : " ") + invariant_fault_name(fault);
    if (r->fault != fault)
      find(FindingKind::invariant, std::string("the walk missed a planted ") + invariant_fault_name(fault) +
                                       ": " +
                                       (r->ok ? std::string("it passed")
                                              : std::string("it reported ") + invariant_fault_name(r->fault) +
                                                    " (" + r->first_error + ")"));
  }
  quiesce();
  if (!found())
    note([&] { return "walk reported every fault planted: " + (planted.empty() ? "none" : planted); });
}

void Judge::finish(bool recheck) {
  if (found()) return;
  for (std::size_t k = 0; k < live_.size(); ++k) live_.at(k).orphaned = true;
  if (recheck) check();
  while (!found() && live_.size() > 0) {
    const BlockId id = live_.blocks().front().id;
    if (void* p = free_begin(id)) free_end(id, 0, pool_.free(p));
  }
  if (!found()) check();
  if (found()) return;
  if (auto wrong = result_.tally.check_counters(pool_.stats())) return find(FindingKind::counter, *wrong);
  if (auto kept = nothing_kept(pool_, routing_)) find(FindingKind::retained, *kept);
}

std::uint64_t Judge::outcome() const {
  std::vector<OpResult> by_op = results_;
  // The end's frees come in allocation order, which is not the program's:
  // by address there.
  std::ranges::sort(by_op, {}, [](const OpResult& r) { return std::pair(r.op, r.where); });
  support::Digest d;
  for (const OpResult& r : by_op) d.mix(r.op), d.mix(r.where), d.mix(r.value);
  d.mix(result_.finding ? 1 + static_cast<std::uint64_t>(result_.finding->kind) : 0);
  return d.value();
}

RunResult Judge::result() {
  result_.stats = pool_.stats();
  result_.digest = digest_.value();
  if (options_.trace)
    for (const Note& n : notes_) result_.trace.push_back("[" + std::to_string(n.op) + "] " + n.line);
  return std::move(result_);
}

}  // namespace hakfuzz
