#include "chickenseg/core/error.h"

#include "chickenseg/core/text_format.h"

namespace chickenseg {

std::string format_place(const ErrorPlace& place, const std::string& message) {
    std::string out;
    if (!place.file.empty()) {
        out += place.file;
        if (place.line > 0) out += ":" + std::to_string(place.line);
        out += ": ";
    }
    if (!place.field.empty()) out += place.field + ": ";
    out += message;
    // File names and labels come from the user's files: no raw control bytes or broken UTF-8
    // reaches the terminal (or a JSON report, which could not hold them).
    return terminal_safe(out);
}

Error::Error(std::string message, ErrorPlace place)
    : std::runtime_error(format_place(place, message)), message_(std::move(message)), place_(std::move(place)) {}

Error::Error(std::string message, std::string file, long line, std::string field)
    : Error(std::move(message), ErrorPlace{std::move(file), line, std::move(field)}) {}

}  // namespace chickenseg
