#include <random>

#include "chickenseg/annotate/annotate_server.h"

namespace chickenseg {

AnnotateParams annotate_default_params() { return AnnotateParams{}; }

std::string make_access_token() {
    std::random_device random;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string token;
    for (int i = 0; i < 4; ++i) {  // 4 x 32 random bits, 8 hex digits each
        const uint32_t v = random();
        for (int k = 0; k < 8; ++k) token += kHex[(v >> (4 * k)) & 15];
    }
    return token;
}

}  // namespace chickenseg
