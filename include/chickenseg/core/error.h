// Errors that say where: the file, the line (0 when not line-based), the field
// (a JSON path such as "annotations[3].bbox", or a column name) and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace chickenseg {

struct ErrorPlace {
    std::string file;   // path as the user gave it; empty when not about a file
    long line = 0;      // 1-based line, 0 when unknown or not line-based
    std::string field;  // JSON path or field name; empty when not about a field
};

// Thrown for bad input and failed operations. The CLI prints what() and exits 1.
class Error : public std::runtime_error {
public:
    explicit Error(std::string message, ErrorPlace place = {});
    Error(std::string message, std::string file, long line = 0, std::string field = {});

    const std::string& message() const { return message_; }
    const ErrorPlace& place() const { return place_; }

private:
    std::string message_;
    ErrorPlace place_;
};

// "file:line: field: message" with the empty parts left out.
std::string format_place(const ErrorPlace& place, const std::string& message);

}  // namespace chickenseg
