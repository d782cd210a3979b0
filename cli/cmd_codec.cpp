// `hakfuzz decode FILE` and `hakfuzz encode TRACE -o FILE`: the binary corpus
// format and the readable trace, round-trip exact, so a person can read,
// edit or write a regression case by hand.
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/output_paths.h"
#include "fuzz/inputs.h"

namespace hakfuzz::cli {

po::options_description decode_options() {
  po::options_description d("decode options");
  d.add_options()("target", po::value<std::string>(), "fuzz target (default: from the path)");
  return d;
}

int run_decode(const po::variables_map& vm) {
  if (!vm.count("inputs") || vm["inputs"].as<std::vector<std::string>>().size() != 1)
    throw UsageError("give exactly one FILE");
  std::filesystem::path file = vm["inputs"].as<std::vector<std::string>>()[0];
  std::optional<std::string> flag;
  if (vm.count("target")) flag = vm["target"].as<std::string>();
  const Target& t = resolve_target(flag, file);
  std::cout << t.to_text(read_bytes(file));
  return kExitClean;
}

po::options_description encode_options() {
  po::options_description d("encode options");
  d.add_options()("output,o", po::value<std::string>()->required(), "binary input file to write")(
      "target", po::value<std::string>(), "fuzz target (default: from the output path, then the trace path)");
  return d;
}

int run_encode(const po::variables_map& vm) {
  if (!vm.count("inputs") || vm["inputs"].as<std::vector<std::string>>().size() != 1)
    throw UsageError("give exactly one TRACE file");
  std::filesystem::path trace = vm["inputs"].as<std::vector<std::string>>()[0];
  std::filesystem::path output = vm["output"].as<std::string>();
  std::optional<std::string> flag;
  if (vm.count("target")) flag = vm["target"].as<std::string>();
  const Target* t = nullptr;
  try {
    t = &resolve_target(flag, output);
  } catch (const UserError&) {
    if (flag) throw;
    t = &resolve_target(std::nullopt, trace);
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes = t->from_text(read_text(trace));
  } catch (const std::invalid_argument& e) {
    throw UsageError(trace.string() + ": " + e.what());
  }
  if (output.has_parent_path()) create_output_dir(output.parent_path(), "-o " + output.string());
  std::ofstream out(output, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw UsageError("cannot write '" + output.string() + "'");
  std::cerr << "hakfuzz encode: " << bytes.size() << " bytes written to " << output.string() << " (target "
            << t->name << ")\n";
  return kExitClean;
}

}  // namespace hakfuzz::cli
