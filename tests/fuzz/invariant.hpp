#pragma once
// FUZZ_CHECK(condition) for fuzz targets: names the broken invariant and where, then aborts, so
// that libFuzzer's crash report says which invariant an input broke.
#include <cstdio>
#include <cstdlib>

namespace postern::fuzz {

[[noreturn]] inline void broken(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    std::abort();
}

}  // namespace postern::fuzz

#define FUZZ_CHECK(ok) ((ok) ? (void)0 : ::postern::fuzz::broken(#ok, __FILE__, __LINE__))
