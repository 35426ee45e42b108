#include "chickenseg/core/text_format.h"

#include <cstdio>

namespace chickenseg {

std::string format_fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace chickenseg
