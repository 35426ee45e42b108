#include "chickenseg/runtime/preprocess.h"

#include <cmath>

#include "chickenseg/core/error.h"
#include "chickenseg/runtime/image_resize.h"

namespace chickenseg {

HostTensor image_to_pixel_values(const RgbImage& image, const ModelPackage& package) {
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
        throw Error("pixel buffer holds " + std::to_string(image.pixels.size()) +
                    " bytes, expected width x height x 3");
    return image_to_pixel_values(rgb_view(image), package);
}

HostTensor image_to_pixel_values(const RgbView& image, const ModelPackage& package) {
    const PackageInput& in = package.input;
    if (in.resize != kPackageResize)
        throw Error(std::string("expected \"") + kPackageResize +
                        "\" (the only resize the runtime implements), found \"" + in.resize + "\"",
                    package.manifest_path().string(), 0, "input.resize");
    const auto size = static_cast<uint32_t>(in.size);
    RgbImage resized = resize_bilinear(image, size, size);

    // In float32, as numpy does it: `bytes / 255.0` then `(v - mean) / std`. When the scale is
    // 1/N for a whole N (1/255), dividing by N gives numpy's bytes exactly; multiplying by the
    // rounded 1/N would not.
    const double inverse = 1.0 / in.scale;
    const bool divide = std::abs(inverse - std::round(inverse)) < 1e-9;
    const auto divisor = static_cast<float>(std::round(inverse));
    const auto scale = static_cast<float>(in.scale);

    HostTensor t = make_host_tensor(DType::float32, {1, 3, in.size, in.size});
    auto out = t.values<float>();
    const size_t plane = static_cast<size_t>(size) * size;
    for (size_t c = 0; c < 3; ++c) {
        const auto mean = static_cast<float>(in.mean[c]);
        const auto std = static_cast<float>(in.std[c]);
        for (size_t i = 0; i < plane; ++i) {
            float v = static_cast<float>(resized.pixels[i * 3 + c]);
            v = divide ? v / divisor : v * scale;
            out[c * plane + i] = (v - mean) / std;
        }
    }
    return t;
}

}  // namespace chickenseg
