// Prints the README's flag table from env_flags.def (also `hakfuzz flags --markdown`).
#include <cstdio>

#include "hakmem/types.h"

int main() { std::fputs(hakmem::flag_table_markdown().c_str(), stdout); }
