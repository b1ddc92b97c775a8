// A stand-in for libFuzzer's main in ordinary (g++) builds: runs LLVMFuzzerTestOneInput once on
// every file named on the command line, or found (recursively) in a directory named there. The
// ctest entries use it to replay each target's seed corpus, so the corpus stays a regression
// test even where clang's libFuzzer is not used.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

static void run_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

int main(int argc, char** argv) {
    std::size_t files = 0;
    for (int i = 1; i < argc; ++i) {
        fs::path p(argv[i]);
        if (fs::is_directory(p)) {
            for (const auto& entry : fs::recursive_directory_iterator(p)) {
                if (!entry.is_regular_file()) continue;
                run_file(entry.path());
                ++files;
            }
        } else if (fs::is_regular_file(p)) {
            run_file(p);
            ++files;
        } else {
            std::cerr << "replay: no such file or directory: " << p << "\n";
            return 2;
        }
    }
    if (files == 0) {
        std::cerr << "replay: no inputs\n";
        return 2;
    }
    std::cout << "replayed " << files << " input(s)\n";
    return 0;
}
