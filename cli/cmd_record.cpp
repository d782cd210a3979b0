// `hakfuzz record [options] -- PROGRAM ARGS...`: the program's allocation
// stream on the pool, recorded by libhakmem_preload.so (preload/recording.h)
// into a file, and optionally converted into a `remote` input
// (program/recorded_program.h) that `repro` replays deterministically and the
// `remote` and `interleave` fuzzers start from. `--from FILE` converts an
// earlier recording without running anything. Exit status: the program's
// own; 1 when no process recorded anything; 2 on bad input.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "cli/preload_launch.h"
#include "exec/run_program.h"
#include "program/recorded_program.h"

namespace hakfuzz::cli {

namespace fs = std::filesystem;
using hakmem::preload::Recording;

namespace {

po::options_description record_desc() {
  po::options_description d("record options");
  add_env_option(d);
  d.add_options()("output,o", po::value<std::string>()->default_value("hakfuzz.rec")->value_name("FILE"),
                  "the recording (preload/recording.h)")(
      "max-events",
      number<std::uint64_t>("max-events", hakmem::preload::kRecordDefaultMax, 1,
                            hakmem::preload::kRecordLargestMax),
      "the cap: events past it are not recorded, the file is marked truncated, the program runs on")(
      "remote", po::value<std::string>()->value_name("FILE"),
      "also write the recording as a `remote` input (replay: hakfuzz repro --target remote FILE)")(
      "from", po::value<std::string>()->value_name("FILE"),
      "convert this recording instead of running a program (with --remote)")(
      "threads", number<int>("threads", kMaxThreads, 2, kMaxThreads),
      "logical threads of the `remote` input; more OS threads alive at once share them")(
      "max-ops", number<std::size_t>("max-ops", kMaxOpsPerRun, 1, kMaxOpsPerRun),
      "ops of the `remote` input; later events are not converted");
  return d;
}

Recording load(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError("cannot read '" + file.string() + "'");
  try {
    return hakmem::preload::read_recording(in);
  } catch (const std::exception& e) {
    throw UsageError(file.string() + ": " + e.what());
  }
}

std::string describe(const Recording& r) {
  std::uint64_t counts[9] = {};
  for (const hakmem::preload::RecordEvent& e : r.events) ++counts[static_cast<int>(e.kind)];
  using K = hakmem::preload::RecordKind;
  const auto n = [&](K k) { return counts[static_cast<int>(k)]; };
  std::string status =
      r.truncated_at
          ? fmt::format("truncated at the cap of {} events (the program ran on, unrecorded)", *r.truncated_at)
      : r.ended ? std::string("complete")
                : std::string("no end event (ended by _exit, exec or a signal)");
  return fmt::format(
      "{} events ({} allocs, {} reallocs that moved, {} in place, {} frees, {} threads, {} exits); {}",
      r.events.size(), n(K::alloc), n(K::realloc), n(K::resize), n(K::free), n(K::thread_start),
      n(K::thread_exit), status);
}

void write_remote(const Recording& r, const fs::path& file, int threads, std::size_t max_ops) {
  RecordedProgram rp;
  try {
    rp = to_remote_program(r, threads, max_ops);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const std::vector<std::uint8_t> bytes = encode(rp.program);
  if (file.has_parent_path()) create_output_dir(file.parent_path(), "--remote " + file.string());
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw UsageError("cannot write '" + file.string() + "'");
  std::cerr << fmt::format(
      "hakfuzz record: remote input {} ({} bytes): {} ops on {} logical threads from {} OS threads ({} "
      "sharing "
      "one); {} allocs, {} reallocs, {} frees, {} exits; dropped: {} frees past the 256th live block, {} "
      "frees "
      "of unrecorded blocks; {} sizes clamped to 1 MiB; {} events past the {}-op cap not converted\n",
      file.string(), bytes.size(), rp.program.ops.size(), int(rp.program.threads), rp.os_threads,
      rp.shared_threads, rp.allocs, rp.reallocs, rp.frees, rp.exits, rp.far_frees, rp.unknown_frees,
      rp.clamped_sizes, rp.events_left, max_ops);
  std::cerr << "hakfuzz record: replay with: hakfuzz repro --target remote " << file.string() << "\n";
}

}  // namespace

int run_record(const std::vector<std::string>& args) {
  po::options_description desc = record_desc();
  po::variables_map vm;
  const std::vector<std::string> program = parse_program_command(args, desc, vm);
  if (vm.count("help")) {
    std::cout << "usage: hakfuzz record [options] -- PROGRAM [ARGS...]\n"
                 "       hakfuzz record --from FILE --remote FILE [--threads N] [--max-ops N]\n\n"
                 "record a program's allocation stream on the pool (LD_PRELOAD of libhakmem_preload.so), "
                 "and convert it into a `remote` input that repro replays deterministically\n\n"
              << desc;
    return kExitClean;
  }
  po::notify(vm);
  const int threads = get<int>(vm, "threads");
  const auto max_ops = get<std::size_t>(vm, "max-ops");
  // --remote and -o are written after the program ran, however long that
  // took: both are proven writable before it starts.
  if (vm.count("remote"))
    probe_output_file(vm["remote"].as<std::string>(), "--remote " + vm["remote"].as<std::string>(),
                      ParentDir::created_by_writer);
  if (vm.count("from")) {
    if (!program.empty()) throw UsageError("--from converts a recording: give no program");
    if (!vm.count("remote")) throw UsageError("--from needs --remote FILE");
    const Recording r = load(vm["from"].as<std::string>());
    std::cerr << fmt::format("hakfuzz record: {} (pid {}): {}\n", vm["from"].as<std::string>(), r.pid,
                             describe(r));
    write_remote(r, vm["remote"].as<std::string>(), threads, max_ops);
    return kExitClean;
  }
  const PreloadLaunch launch = preload_launch(program, vm, "hakfuzz record [options] -- PROGRAM [ARGS...]");
  const auto max_events = get<std::uint64_t>(vm, "max-events");
  const fs::path output = vm["output"].as<std::string>();
  probe_output_file(output, "-o " + output.string(), ParentDir::created_by_writer);

  const fs::path dir = scratch_dir("record");
  const int status =
      spawn_preloaded("record", launch,
                      {std::string(hakmem::preload::kRecordDirEnv) + "=" + dir.string(),
                       std::string(hakmem::preload::kRecordMaxEnv) + "=" + std::to_string(max_events)},
                      fmt::format("at most {} events", max_events), dir);

  // Every process that loaded the shim recorded itself; the busiest is kept.
  std::optional<std::pair<fs::path, Recording>> kept;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    Recording r = load(e.path());
    std::cerr << fmt::format("hakfuzz record: pid {}: {}\n", r.pid, describe(r));
    if (!kept || r.events.size() > kept->second.events.size()) kept.emplace(e.path(), std::move(r));
  }
  const ProgramEnd end = program_end(status);
  if (!kept) {
    fs::remove_all(dir);
    std::cerr << "hakfuzz record: no process loaded the shim (a static or setuid program?)\n";
    return kExitFinding;
  }
  if (output.has_parent_path()) create_output_dir(output.parent_path(), "-o " + output.string());
  std::error_code ec;
  fs::copy_file(kept->first, output, fs::copy_options::overwrite_existing, ec);
  fs::remove_all(dir);
  if (ec) throw UsageError("cannot write '" + output.string() + "': " + ec.message());
  std::cerr << fmt::format("hakfuzz record: wrote {} (pid {}, {} bytes); program {}\n", output.string(),
                           kept->second.pid, fs::file_size(output), end.how);
  if (vm.count("remote")) write_remote(kept->second, vm["remote"].as<std::string>(), threads, max_ops);
  return end.code;
}

}  // namespace hakfuzz::cli
