// A list of warnings and problems found while reading or checking inputs.
// Commands collect them instead of stopping at the first, then print them all.
#pragma once

#include <string>
#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {

enum class Severity { warning, error };

struct Diagnostic {
    Severity severity = Severity::warning;
    ErrorPlace place;
    std::string message;
    std::string text() const { return format_place(place, message); }
};

class Diagnostics {
public:
    void warn(std::string message, ErrorPlace place = {});
    void error(std::string message, ErrorPlace place = {});
    void add(const Error& e, Severity severity = Severity::error);

    const std::vector<Diagnostic>& items() const { return items_; }
    size_t warning_count() const;
    size_t error_count() const;
    bool empty() const { return items_.empty(); }

private:
    std::vector<Diagnostic> items_;
};

}  // namespace chickenseg
