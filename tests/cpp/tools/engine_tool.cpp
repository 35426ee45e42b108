// Test helper driven by tests/python/test_runtime_package.py: one Engine called from several
// threads at once must give what it gives called serially.
//
//   engine_tool PACKAGE --threads N IMAGE...
//
// Runs every image once serially (the reference), then from N threads at once, each thread
// going through the images in its own order, and compares every detection (score, box, mask
// runs) for equality. Batch 1 everywhere: another batch size runs other kernels, which may
// differ in the last bit (tests/python/test_predict.py compares those within tolerances). Prints "identical: K
// detections" and exits 0, or prints the first difference and exits 1.
#include <algorithm>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/runtime/engine.h"

using namespace chickenseg;

namespace {

bool same(const ImageDetections& a, const ImageDetections& b, std::string& why) {
    if (a.presence != b.presence || a.gated != b.gated || a.detections.size() != b.detections.size()) {
        why = "presence or count differs";
        return false;
    }
    for (size_t i = 0; i < a.detections.size(); ++i) {
        const Detection& x = a.detections[i];
        const Detection& y = b.detections[i];
        if (x.query != y.query || x.score != y.score || x.bbox != y.bbox || !(x.mask == y.mask)) {
            why = "detection " + std::to_string(i) + " differs";
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5 || std::string(argv[2]) != "--threads") {
        std::cerr << "usage: engine_tool PACKAGE --threads N IMAGE...\n";
        return 2;
    }
    try {
        Engine engine(argv[1]);
        const int threads = std::stoi(argv[3]);
        std::vector<EngineInput> inputs;
        for (int i = 4; i < argc; ++i) inputs.push_back(prepare_engine_input(decode_image(argv[i]), engine.package()));
        DetectParams params;
        params.score_threshold = 0;  // every query, so that there is something to compare
        params.presence_threshold = 0;
        std::vector<ImageDetections> serial;
        for (const auto& in : inputs) serial.push_back(engine.predict({&in, 1}, 0, params).front());

        std::vector<std::string> failures(threads);
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                try {
                    // Thread t starts at image t.
                    const size_t n = inputs.size();
                    for (size_t round = 0; round < 3 * n; ++round) {
                        const size_t i = (round + static_cast<size_t>(t)) % n;
                        auto got = engine.predict({&inputs[i], 1}, 0, params);
                        std::string why;
                        if (!same(serial[i], got.front(), why) && failures[t].empty())
                            failures[t] = "thread " + std::to_string(t) + ", image " + std::to_string(i) + ": " + why;
                    }
                } catch (const std::exception& e) {
                    failures[t] = std::string("thread failed: ") + e.what();
                }
            });
        for (auto& th : pool) th.join();
        for (const auto& f : failures)
            if (!f.empty()) {
                std::cout << "different: " << f << "\n";
                return 1;
            }
        size_t detections = 0;
        for (const auto& d : serial) detections += d.detections.size();
        std::cout << "identical: " << detections << " detections, " << threads << " threads\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
