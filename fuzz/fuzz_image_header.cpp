// Image files: headers (JPEG, PNG, BMP, GIF, WebP, TIFF, EXIF), and full decoding of what the
// header accepts (small images only: the pixel limit is the header's business, tested apart).
#include "chickenseg/core/image.h"
#include "fuzz_support.h"

using namespace chickenseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> bytes(data, size);
    ImageInfo info;
    bool ok = true;
    fuzz::expect_only_errors([&] {
        try {
            info = read_image_info(bytes, "fuzz");
        } catch (const Error&) {
            ok = false;
            throw;
        }
    });
    if (!ok || uint64_t{info.stored_width} * info.stored_height > 1'000'000) return 0;
    fuzz::expect_only_errors([&] { decode_image(bytes, "fuzz"); });
    return 0;
}
