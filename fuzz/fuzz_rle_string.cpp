// COCO compressed RLE strings: decoded (scalar and SIMD paths agree), checked, re-encoded.
#include "chickenseg/core/rle.h"
#include "fuzz_support.h"

using namespace chickenseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint32_t h = 1 + data[0] % 64, w = 1 + data[1] % 64;
    std::string_view counts = fuzz::text_of(data + 2, size - 2);
    bool checked = true;
    try {
        rle_check_string(counts, h, w);
    } catch (const Error&) {
        checked = false;
    }
    fuzz::expect_only_errors([&] {
        Rle r = rle_from_string(counts, h, w);
        if (!checked) std::abort();  // the check refused what the decoder accepts
        if (rle_from_string(rle_to_string(r), h, w).counts != r.counts) std::abort();  // round trip
        (void)rle_area(r);
        (void)rle_to_bbox(r);
    });
    return 0;
}
