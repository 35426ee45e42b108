#include "chickenseg/data/source_image.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace chickenseg {

const char* source_format_name(SourceFormat format) {
    switch (format) {
        case SourceFormat::labelme:
            return "labelme";
        case SourceFormat::yolo:
            return "yolo";
        case SourceFormat::coco:
            return "coco";
    }
    return "unknown";
}

namespace {

std::string number_text(double v) {
    std::ostringstream s;
    s.precision(10);
    s << v;
    return s.str();
}

}  // namespace

bool clamp_polygon_to_image(Polygon& polygon, uint32_t width, uint32_t height, const ErrorPlace& place,
                            Diagnostics& diagnostics) {
    double worst = 0;  // largest distance outside among the clamped points
    size_t clamped = 0;
    for (size_t i = 0; i + 1 < polygon.size(); i += 2) {
        double& x = polygon[i];
        double& y = polygon[i + 1];
        if (!std::isfinite(x) || !std::isfinite(y)) {
            diagnostics.error("point " + std::to_string(i / 2) + " is not a finite number", place);
            return false;
        }
        double dx = x < 0 ? -x : (x > width ? x - width : 0.0);
        double dy = y < 0 ? -y : (y > height ? y - height : 0.0);
        double out = std::max(dx, dy);
        if (out == 0) continue;
        if (out > kPixelTolerance) {
            diagnostics.error("point " + std::to_string(i / 2) + " (" + number_text(x) + ", " + number_text(y) +
                                  ") lies " + number_text(out) + " px outside the " + std::to_string(width) + "x" +
                                  std::to_string(height) + " image (at most " + number_text(kPixelTolerance) +
                                  " px is clamped)",
                              place);
            return false;
        }
        x = std::clamp(x, 0.0, static_cast<double>(width));
        y = std::clamp(y, 0.0, static_cast<double>(height));
        worst = std::max(worst, out);
        ++clamped;
    }
    if (clamped)
        diagnostics.warn(std::to_string(clamped) + " point(s) up to " + number_text(worst) +
                             " px outside the image clamped to its border",
                         place);
    return true;
}

}  // namespace chickenseg
