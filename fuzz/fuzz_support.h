// Shared by the fuzz targets: the bytes as text, and the rule every reader must keep — a bad
// input is a chickenseg::Error (or a diagnostic); anything else escaping is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "chickenseg/core/error.h"

namespace chickenseg::fuzz {

inline std::string_view text_of(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Runs `body`; a chickenseg::Error is the expected answer to bad input. Any other exception
// (nlohmann's, std::out_of_range, ...) is a reader that failed to name the problem: abort, so
// libFuzzer keeps the input.
template <typename Body>
void expect_only_errors(Body&& body) {
    try {
        body();
    } catch (const Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "not a chickenseg::Error: %s\n", e.what());
        std::abort();
    }
}

}  // namespace chickenseg::fuzz
