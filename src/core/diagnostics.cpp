#include "chickenseg/core/diagnostics.h"

#include <algorithm>

namespace chickenseg {

void Diagnostics::warn(std::string message, ErrorPlace place) {
    items_.push_back({Severity::warning, std::move(place), std::move(message)});
}

void Diagnostics::error(std::string message, ErrorPlace place) {
    items_.push_back({Severity::error, std::move(place), std::move(message)});
}

void Diagnostics::add(const Error& e, Severity severity) { items_.push_back({severity, e.place(), e.message()}); }

size_t Diagnostics::warning_count() const {
    return std::count_if(items_.begin(), items_.end(),
                         [](const Diagnostic& d) { return d.severity == Severity::warning; });
}

size_t Diagnostics::error_count() const {
    return std::count_if(items_.begin(), items_.end(),
                         [](const Diagnostic& d) { return d.severity == Severity::error; });
}

}  // namespace chickenseg
