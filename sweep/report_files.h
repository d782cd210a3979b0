// What the report writers share: opening the output file, and escaping
// text for XML and HTML.
#pragma once
#include <fstream>
#include <string>
#include <string_view>

namespace hakfuzz::sweep {

// Throws a UserError (fuzz/user_error.h) naming the path when it cannot be opened.
std::ofstream open_for_writing(const std::string& path);
// & < > " and ' as entities: safe in element text and attribute values.
std::string markup_escape(std::string_view text);

}  // namespace hakfuzz::sweep
