// `env`: arbitrary strings for every environment flag of the table, at
// construction and again for refresh_from_env(). A reference parser written
// here from the table's documented forms (not the allocator's parser) says
// which strings are accepted and what they mean; the pool must agree, name
// the right variable on an error, keep its old config when a refresh fails,
// and route each class as the accepted config says, and follow the
// invalid-free policy it names in what it writes to its report stream
// (`abort` in a forked child, which also puts the pool's fork handlers to
// work). The pool is built as the preload shim builds its own, with no
// arena cache: its teardown gives every mapping back to the OS. The input's
// tail is an ops program run through the model.
//
// Bytes: for each env flag, twice (init, then refresh): one length byte
// (0xFF = unset, else length % 33) and that many value bytes; then a Program.
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "fuzz/dictionary.h"
#include "fuzz/targets.h"

namespace hakfuzz {

namespace {

struct EnvInput {
  std::vector<std::optional<std::string>> init, refresh;  // one per env flag
  std::vector<std::uint8_t> program;
};

std::vector<const hakmem::FlagSpec*> env_flags() {
  std::vector<const hakmem::FlagSpec*> out;
  for (const hakmem::FlagSpec& spec : hakmem::flag_table())
    if (!spec.build_switch) out.push_back(&spec);
  return out;
}

EnvInput split(Bytes in) {
  EnvInput e;
  std::size_t i = 0, n = env_flags().size();
  for (auto* side : {&e.init, &e.refresh}) {
    for (std::size_t f = 0; f < n; ++f) {
      if (i >= in.size() || in[i] == kEnvUnset) {
        side->push_back(std::nullopt);
        if (i < in.size()) ++i;
        continue;
      }
      std::size_t want = in[i] % (kEnvMaxValue + 1);
      ++i;
      std::size_t len = std::min(want, in.size() - i);
      side->emplace_back(std::string(reinterpret_cast<const char*>(in.data() + i), len));
      i += len;
    }
  }
  e.program.assign(in.begin() + static_cast<std::ptrdiff_t>(std::min(i, in.size())), in.end());
  return e;
}

std::vector<std::uint8_t> join(const EnvInput& e) {
  std::vector<std::uint8_t> out;
  for (auto* side : {&e.init, &e.refresh})
    for (const auto& v : *side) {
      if (!v) {
        out.push_back(kEnvUnset);
        continue;
      }
      out.push_back(static_cast<std::uint8_t>(v->size()));
      out.insert(out.end(), v->begin(), v->end());
    }
  out.insert(out.end(), e.program.begin(), e.program.end());
  return out;
}

// The documented forms: a kChoice flag takes exactly one of its '|' tokens;
// a kMask flag takes 0x/0X plus hex digits, or decimal digits, in [min, max].
std::optional<std::uint32_t> reference_parse(const hakmem::FlagSpec& spec, const std::string& s) {
  if (spec.kind == hakmem::FlagKind::kChoice) {
    std::string accepted = spec.accepted;
    std::uint32_t index = 0;
    std::size_t start = 0;
    for (;;) {
      std::size_t bar = accepted.find('|', start);
      if (accepted.substr(start, bar == std::string::npos ? std::string::npos : bar - start) == s)
        return index;
      if (bar == std::string::npos) return std::nullopt;
      start = bar + 1;
      ++index;
    }
  }
  bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  std::string digits = hex ? s.substr(2) : s;
  if (digits.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : digits) {
    int d = std::isdigit(static_cast<unsigned char>(ch))           ? ch - '0'
            : hex && std::isxdigit(static_cast<unsigned char>(ch)) ? std::tolower(ch) - 'a' + 10
                                                                   : -1;
    if (d < 0) return std::nullopt;
    v = std::min<std::uint64_t>(v * (hex ? 16 : 10) + d, 1ull << 40);
  }
  if (v < spec.min || v > spec.max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

struct Expectation {
  hakmem::Config config;
  std::optional<std::string> bad_variable;  // the first flag (table order) that is malformed
};

Expectation expect(const std::vector<std::optional<std::string>>& values, hakmem::Config base) {
  Expectation e{base, std::nullopt};
  auto flags = env_flags();
  hakmem::Config fresh;  // unset flags take table defaults, as at construction
  for (std::size_t f = 0; f < flags.size(); ++f) {
    auto field = hakmem::env_flag_of(*flags[f]);
    if (!values[f]) continue;
    std::optional<std::uint32_t> v = reference_parse(*flags[f], *values[f]);
    if (!v) {
      e.bad_variable = flags[f]->name;
      return e;
    }
    fresh.set(field, *v);
  }
  e.config = fresh;
  return e;
}

hakmem::EnvSource source(const std::vector<std::optional<std::string>>& values) {
  std::vector<std::pair<std::string, std::string>> vars;
  auto flags = env_flags();
  for (std::size_t f = 0; f < flags.size(); ++f)
    if (values[f]) vars.emplace_back(flags[f]->name, *values[f]);
  return hakmem::map_env(std::move(vars));
}

std::string quote(const std::optional<std::string>& v) {
  return v ? "\"" + escape_bytes(*v) + "\"" : "unset";
}

std::optional<std::string> unquote(const std::string& text, int lineno) {
  auto fail = [&](const char* why) {
    throw std::invalid_argument("trace line " + std::to_string(lineno) + ": " + why + ": " + text);
  };
  if (text == "unset") return std::nullopt;
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') fail("expected \"value\" or unset");
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 3 >= text.size() || text[i + 1] != 'x' ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 3])))
      fail("bad escape (use \\xHH)");
    out += static_cast<char>(std::stoi(text.substr(i + 2, 2), nullptr, 16));
    i += 3;
  }
  if (out.size() > kEnvMaxValue) fail("value longer than 32 bytes");
  return out;
}

}  // namespace

std::string env_strings_to_text(Bytes input) {
  EnvInput e = split(input);
  auto flags = env_flags();
  std::string out;
  for (std::size_t f = 0; f < flags.size(); ++f)
    out += std::string("init ") + flags[f]->name + " " + quote(e.init[f]) + "\n";
  for (std::size_t f = 0; f < flags.size(); ++f)
    out += std::string("refresh_env ") + flags[f]->name + " " + quote(e.refresh[f]) + "\n";
  return out + to_text(decode(e.program));
}

std::vector<std::uint8_t> env_strings_from_text(const std::string& text) {
  auto flags = env_flags();
  EnvInput e;
  e.init.assign(flags.size(), std::nullopt);
  e.refresh.assign(flags.size(), std::nullopt);
  std::string rest;
  std::size_t pos = 0;
  int lineno = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    ++lineno;
    bool init = line.rfind("init ", 0) == 0, refresh = line.rfind("refresh_env ", 0) == 0;
    if (!init && !refresh) {
      rest += line + "\n";
      continue;
    }
    std::string body = line.substr(init ? 5 : 12);
    std::size_t space = body.find(' ');
    std::string name = body.substr(0, space);
    std::size_t f = 0;
    while (f < flags.size() && name != flags[f]->name) ++f;
    if (f == flags.size() || space == std::string::npos)
      throw std::invalid_argument("trace line " + std::to_string(lineno) + ": unknown flag '" + name + "'");
    (init ? e.init : e.refresh)[f] = unquote(body.substr(space + 1), lineno);
  }
  Program p = parse_text(rest);
  if (p.threads != 1) throw std::invalid_argument("trace: the env target takes a single-thread program");
  e.program = encode(p);
  return join(e);
}

namespace {

// The env phase's result so far: the trace notes, the digest of the routes
// and the first finding.
struct EnvPhase {
  bool trace = false;
  RunResult out;
  void note(const std::string& s) {
    if (trace) out.trace.push_back(s);
  }
  void find(const std::string& what, FindingKind kind = FindingKind::config) {
    if (!out.finding) out.finding = Finding{kind, 0, what};
  }
};

// The pool's report stream, kept in memory.
class ReportStream {
 public:
  ReportStream() : file_(open_memstream(&buf_, &size_)) {}
  ~ReportStream() {
    if (file_) std::fclose(file_);
    std::free(buf_);
  }
  ReportStream(const ReportStream&) = delete;
  ReportStream& operator=(const ReportStream&) = delete;
  std::FILE* file() const { return file_; }
  std::string text() {
    if (!file_ || std::fflush(file_) != 0) return {};
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

// The pool built from the input's init values, judged against the
// reference parser; nullptr when construction ends the input (a finding, or
// a malformed value rightly rejected).
std::unique_ptr<PoolUnderTest> construct_pool(const EnvInput& e, const Expectation& at_init,
                                              std::FILE* report, EnvPhase& phase) {
  std::unique_ptr<PoolUnderTest> pool;
  hakmem::PoolOptions options;
  options.env = source(e.init);
  options.arena_bytes = std::size_t{64} << 20;
  options.report = report;  // what it says of invalid frees (judge_invalid_free)
  try {
    pool = make_pool(Flavour::stats_on, options);
    if (at_init.bad_variable)
      return phase.find("construction accepted a malformed " + *at_init.bad_variable), nullptr;
  } catch (const hakmem::ConfigError& err) {
    phase.note(std::string("init rejected: ") + err.what());
    if (!at_init.bad_variable)
      return phase.find(std::string("construction rejected a valid env: ") + err.what()), nullptr;
    if (err.variable != *at_init.bad_variable)
      return phase.find("construction blamed " + err.variable + ", the first malformed flag is " +
                        *at_init.bad_variable),
             nullptr;
    if (std::string(err.what()).find("accepted") == std::string::npos)
      phase.find("error does not say what is accepted");
    return nullptr;
  }
  phase.note("init " + pool->config().describe());
  if (!(pool->config() == at_init.config))
    return phase.find("config after construction differs from the table"), nullptr;
  return pool;
}

// Above every class: the large path, which maps and unmaps for itself.
constexpr std::size_t kLargeSize = hakmem::kClassSizes[hakmem::kNumClasses - 1] + 1;

// One block per class and one large block, each routed as `cfg` says; a
// request of 2^63 bytes gets null, whatever the config.
void route_blocks(PoolUnderTest& pool, const hakmem::Config& cfg, std::vector<void*>& blocks,
                  EnvPhase& phase) {
  if (void* p = pool.alloc(std::size_t{1} << 63)) {
    blocks.push_back(p);
    return phase.find("a request of 2^63 bytes got a block", FindingKind::alloc_route);
  }
  for (int c = 0; c <= hakmem::kNumClasses; ++c) {
    const std::size_t size = c < hakmem::kNumClasses ? hakmem::kClassSizes[c] : kLargeSize;
    void* p = pool.alloc(size);
    const hakmem::BlockKind want = model::Routing(cfg).kind_for(size);
    if (!p || pool.block_info(p).kind != want)
      return phase.find("size " + std::to_string(size) + " not routed as " + cfg.describe() + " says",
                        FindingKind::alloc_route);
    // A large block's address is the OS's: only arena offsets enter the digest.
    if (std::optional<std::uint64_t> at = pool.arena_offset(p))
      phase.out.digest = phase.out.digest * 31 + *at;
    blocks.push_back(p);
  }
}

// refresh_from_env() with the input's refresh values, judged against the
// reference parser: the right variable blamed, nothing changed on failure.
void judge_refresh(PoolUnderTest& pool, const EnvInput& e, const Expectation& at_refresh, EnvPhase& phase) {
  pool.set_env_source(source(e.refresh));
  std::optional<hakmem::ConfigError> err = pool.refresh_from_env();
  phase.note(err ? std::string("refresh rejected: ") + err->what() : "refresh " + pool.config().describe());
  if (err.has_value() != at_refresh.bad_variable.has_value())
    phase.find(err ? std::string("refresh rejected a valid env: ") + err->what()
                   : "refresh accepted a malformed env");
  else if (err && err->variable != *at_refresh.bad_variable)
    phase.find("refresh blamed " + err->variable + ", the first malformed flag is " +
               *at_refresh.bad_variable);
  else if (!(pool.config() == at_refresh.config))
    phase.find("config after refresh_from_env differs from the table (a failed refresh must change nothing)");
}

// An invalid free under `report` or `quiet`: rejected, with a line naming
// the verdict in the report stream under `report` and nothing under
// `quiet`.
void judge_rejected_free(PoolUnderTest& pool, ReportStream& report, const char* what, void* ptr,
                         EnvPhase& phase) {
  const hakmem::InvalidFreePolicy policy = pool.config().invalid_free_policy();
  const std::size_t before = report.text().size();
  const hakmem::FreeOutcome out = pool.free(ptr);
  const std::string said = report.text().substr(before);
  if (out.route != hakmem::FreeRoute::rejected)
    return phase.find(std::string("a ") + what + " was not rejected", FindingKind::free_outcome);
  const std::string verdict = hakmem::verdict_name(out.reason);
  phase.note(std::string(what) + " rejected: " + verdict +
             (said.empty() ? ", nothing reported" : ", reported"));
  if (policy == hakmem::InvalidFreePolicy::quiet && !said.empty())
    phase.find("HAKMEM_POOL_INVALID_FREE=quiet, yet the pool reported: " + said, FindingKind::config);
  else if (policy == hakmem::InvalidFreePolicy::report && said.find(verdict) == std::string::npos)
    phase.find("HAKMEM_POOL_INVALID_FREE=report, yet no report names " + verdict, FindingKind::config);
}

// Long enough for a child that allocates a handful of blocks under any
// sanitizer on a loaded machine; a child that takes longer is hung.
constexpr unsigned kForkChildSeconds = 5;

// `abort`, in a child: the pool's fork handlers around fork(), then the
// child takes every lock of the pool again (a block of each class, a large
// one, a refresh) and frees one block twice, which must abort it. A lock
// the handlers left taken hangs the child until its alarm ends it.
void judge_abort_in_child(PoolUnderTest& pool, EnvPhase& phase) {
  pool.prepare_fork();
  const pid_t child = fork();
  if (child == 0) {
    // The fuzzing engine's handlers would report the abort as a crash of the
    // input and the alarm as a timeout: the child dies of the signals.
    std::signal(SIGABRT, SIG_DFL);
    std::signal(SIGALRM, SIG_DFL);
    alarm(kForkChildSeconds);
    pool.after_fork();
    for (int c = 0; c <= hakmem::kNumClasses; ++c)
      pool.free(pool.alloc(c < hakmem::kNumClasses ? hakmem::kClassSizes[c] : kLargeSize));
    (void)pool.refresh_from_env();
    void* p = pool.alloc(hakmem::kClassSizes[0]);
    pool.free(p);
    pool.free(p);
    _exit(0);
  }
  pool.after_fork();
  if (child < 0) return phase.find("fork failed: " + std::string(std::strerror(errno)), FindingKind::harness);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const auto died_of = [&](int sig) { return WIFSIGNALED(status) && WTERMSIG(status) == sig; };
  const std::string how = WIFSIGNALED(status)
                              ? std::string("died of signal ") + std::to_string(WTERMSIG(status))
                              : "exited with status " + std::to_string(WEXITSTATUS(status));
  phase.note("double free in a forked child: " + how);
  if (died_of(SIGALRM))
    phase.find("a forked child's pool hung for " + std::to_string(kForkChildSeconds) +
                   " s: a lock taken by prepare_fork was not released in the child",
               FindingKind::deadlock);
  else if (!died_of(SIGABRT))
    phase.find("HAKMEM_POOL_INVALID_FREE=abort, yet a double free in a forked child " + how,
               FindingKind::config);
}

// Invalid frees under the policy the config names: a double free (a block
// of a class) and a free of an address outside every arena (no class).
void judge_invalid_free(PoolUnderTest& pool, ReportStream& report, EnvPhase& phase) {
  if (pool.config().invalid_free_policy() == hakmem::InvalidFreePolicy::abort)
    return judge_abort_in_child(pool, phase);
  void* p = pool.alloc(hakmem::kClassSizes[0]);
  if (!p || pool.free(p).route == hakmem::FreeRoute::rejected)
    return phase.find("a block allocated for the double free was not freed", FindingKind::free_outcome);
  judge_rejected_free(pool, report, "double free", p, phase);
  int stray = 0;
  if (!phase.out.finding) judge_rejected_free(pool, report, "free of a stack address", &stray, phase);
}

// Route one block per class under the config, refresh, route again, then
// free everything: blocks of the old route must still find their way, and
// the pool ends empty. False when a finding ends the input here.
bool route_across_refresh(PoolUnderTest& pool, const EnvInput& e, const hakmem::Config& at_init,
                          ReportStream& report, EnvPhase& phase) {
  std::vector<void*> blocks;
  route_blocks(pool, at_init, blocks, phase);
  const Expectation at_refresh = expect(e.refresh, pool.config());
  judge_refresh(pool, e, at_refresh, phase);
  if (phase.out.finding) return false;
  route_blocks(pool, at_refresh.config, blocks, phase);
  for (void* p : blocks)
    if (pool.free(p).route == hakmem::FreeRoute::rejected)
      return phase.find("a block of the old route was rejected", FindingKind::free_outcome), false;
  judge_invalid_free(pool, report, phase);
  if (phase.out.finding) return false;
  if (hakmem::InvariantReport r = pool.check(); !r.ok || r.live_blocks != 0)
    return phase.find("after the env phase: " + (r.ok ? std::string("blocks left live") : r.first_error),
                      r.ok ? FindingKind::accounting : FindingKind::invariant),
           false;
  return true;
}

}  // namespace

RunResult run_env_target(Bytes input, bool trace) {
  const EnvInput e = split(input);
  EnvPhase phase{trace, {}};
  const Expectation at_init = expect(e.init, hakmem::Config{});
  ReportStream report;  // outlives the pool, which writes its stats table there at teardown
  std::unique_ptr<PoolUnderTest> pool = construct_pool(e, at_init, report.file(), phase);
  if (!pool || !route_across_refresh(*pool, e, at_init.config, report, phase)) return phase.out;
  pool.reset();

  RunResult& out = phase.out;
  RunResult program = run_program(decode(e.program), {.trace = trace});
  if (program.finding) {
    program.trace.insert(program.trace.begin(), out.trace.begin(), out.trace.end());
    return program;
  }
  out.digest = out.digest * 31 + program.digest;
  out.trace.insert(out.trace.end(), program.trace.begin(), program.trace.end());
  return out;
}

}  // namespace hakfuzz
