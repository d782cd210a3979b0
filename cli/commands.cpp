#include "cli/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "fuzz/targets.h"
#include "hakmem/types.h"
#include "oracle/plants.h"

namespace hakfuzz::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"sweep", "run every build-switch x environment config: workload digest, parallel stress, path proof",
       sweep_options, run_sweep},
      {"stress",
       "parallel stress on oneTBB: remote frees, thread churn, canaries, exact accounting, flat RSS",
       stress_options, run_stress},
      {"flags", "print the allocator's flag table (environment flags and build switches)", flags_options,
       run_flags},
      {"fuzz", "fuzz a target (libFuzzer in the clang-asan build, the built-in engine in every build)",
       nullptr, nullptr, nullptr, run_fuzz},
      {"explore",
       "every interleaving of a schedule program within a preemption bound (dfs), or seeded PCT / random "
       "runs",
       explore_options, run_explore, "FILE|DIR..."},
      {"audit-atomics",
       "each atomic schedule point's order weakened in turn, explored under C11 executions: which orders "
       "the allocator needs (CORRECTNESS, with a replaying counterexample) and which no run contradicts",
       audit_atomics_options, run_audit_atomics, "FILE|DIR..."},
      {"repro", "replay inputs deterministically: verdict, reproducibility k/N, determinism check, op trace",
       repro_options, run_repro, "FILE|DIR..."},
      {"decode", "print a binary fuzz input as a readable trace", decode_options, run_decode, "FILE"},
      {"encode", "write a readable trace back as a binary fuzz input", encode_options, run_encode, "TRACE"},
      {"run", "run an unmodified program on the pool (LD_PRELOAD shim): rejected frees, walk, nothing kept",
       nullptr, nullptr, nullptr, run_run},
      {"record",
       "record a program's allocation stream on the pool (LD_PRELOAD shim); convert it into a `remote` input",
       nullptr, nullptr, nullptr, run_record},
      {"bench", "throughput of the pool's v1 and v2 routes against glibc and peer allocators (W1-W4)",
       bench_options, run_bench},
      {"ab",
       "the Phase 29 A/B: stats compiled out vs in, interleaved, with a confidence interval and a verdict",
       ab_options, run_ab},
  };
  return table;
}

std::string commands_markdown() {
  std::string out = "| command | what it does |\n|---|---|\n";
  for (const Command& c : commands()) out += fmt::format("| `hakfuzz {}` | {} |\n", c.name, c.summary);
  return out;
}

namespace {

// `hakfuzz --markdown[=TABLE]`: the tables the README and docs/ embed, each
// generated from the table it documents (tests/docs_tables.py diffs them).
std::string markdown_table(const std::string& name) {
  if (name == "commands") return commands_markdown();
  if (name == "flags") return flag_table_markdown();
  if (name == "targets") return targets_markdown();
  if (name == "plants") return plants_markdown();
  throw UsageError("--markdown=" + name + ": no such table (commands, flags, targets, plants)");
}

void print_general_help(std::ostream& os, const po::options_description& global) {
  os << "usage: hakfuzz [--help] <command> [options]\n\n"
        "hakfuzz embeds a HAKMEM-style mid-size pool allocator and tortures it.\n\n"
        "commands:\n";
  for (const Command& c : commands()) os << fmt::format("  {:<8} {}\n", c.name, c.summary);
  os << "\n"
     << global << "\nexit codes: 0 clean, 1 a finding, 2 usage or configuration error, 3 internal error\n"
     << "`hakfuzz <command> --help` lists a command's options.\n";
}

po::options_description with_help(const Command& c) {
  po::options_description desc = c.options();
  desc.add_options()("help,h", "show this command's options");
  return desc;
}

int run_command(const Command& cmd, std::vector<std::string> args, bool help) {
  if (cmd.run_raw) {
    if (help) args.insert(args.begin(), "--help");
    return cmd.run_raw(args);
  }
  po::options_description desc = with_help(cmd);
  // Positional words land in "inputs"; for a command that takes none, the
  // first one is named in the error instead of being silently ignored.
  po::options_description parse_desc;
  parse_desc.add(desc).add_options()("inputs", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("inputs", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(parse_desc).positional(pos).run(), vm);
  if (!cmd.positional && vm.count("inputs"))
    throw UsageError("unexpected argument '" + vm["inputs"].as<std::vector<std::string>>().front() + "'");
  if (help || vm.count("help")) {
    std::cout << fmt::format("usage: hakfuzz {} [options]{}\n\n{}\n\n", cmd.name,
                             cmd.positional ? std::string(" ") + cmd.positional : "", cmd.summary)
              << desc;
    return kExitClean;
  }
  po::notify(vm);
  return cmd.run(vm);
}

}  // namespace

int dispatch(int argc, char** argv) {
  po::options_description global("global options");
  global.add_options()("help,h", "show this help")(
      "markdown", po::value<std::string>()->implicit_value("commands")->value_name("TABLE"),
      "print a table as Markdown: commands (the default), flags, targets or plants");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>())("args", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(global).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);

  std::string where = "hakfuzz";
  try {
    // Pass-through commands skip the two-pass parse, whose short options
    // would read libFuzzer's `-help=1` as `-h` and `-jobs=4` as a
    // short-option group; they parse their own words.
    if (argc >= 2)
      for (const Command& c : commands())
        if (c.run_raw && std::string(argv[1]) == c.name) {
          where = std::string("hakfuzz ") + c.name;
          return c.run_raw(std::vector<std::string>(argv + 2, argv + argc));
        }
    // Pass 1: the command word; everything else is left for pass 2.
    po::parsed_options parsed =
        po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
    po::variables_map vm;
    po::store(parsed, vm);
    if (vm.count("markdown")) {
      if (vm.count("command"))
        throw UsageError("--markdown takes no command (name its table as --markdown=TABLE)");
      std::cout << markdown_table(vm["markdown"].as<std::string>());
      return kExitClean;
    }
    if (!vm.count("command")) {
      if (vm.count("help")) {
        print_general_help(std::cout, global);
        return kExitClean;
      }
      auto stray = po::collect_unrecognized(parsed.options, po::include_positional);
      if (!stray.empty()) throw UsageError("unrecognised option '" + stray.front() + "'");
      print_general_help(std::cerr, global);
      return kExitUsage;
    }
    const std::string name = vm["command"].as<std::string>();
    auto it = std::ranges::find_if(commands(), [&](const Command& c) { return name == c.name; });
    if (it == commands().end()) throw UsageError("unknown command '" + name + "'");
    where = "hakfuzz " + name;
    std::vector<std::string> rest = po::collect_unrecognized(parsed.options, po::include_positional);
    rest.erase(rest.begin());  // the command word itself
    return run_command(*it, rest, vm.count("help") > 0);
  } catch (const po::error& e) {
    std::cerr << where << ": error: " << e.what() << " (see '" << where << " --help')\n";
  } catch (const UserError& e) {  // UsageError, and what the layers below blame on the user
    std::cerr << where << ": error: " << e.what() << " (see '" << where << " --help')\n";
  } catch (const hakmem::ConfigError& e) {
    std::cerr << where << ": configuration error: " << e.what() << "\n";
  }
  return kExitUsage;
}

}  // namespace hakfuzz::cli
