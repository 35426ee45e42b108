// Small text formatting shared by the tables and reports.
#pragma once

#include <string>
#include <string_view>

namespace chickenseg {

// `v` with exactly `decimals` digits after the point ("%.*f"), locale-independent.
std::string format_fixed(double v, int decimals);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): what JSON text must be. A file name or label that is not cannot be written to
// a JSON file.
bool is_valid_utf8(std::string_view text);

// `text` safe to print on a terminal: valid UTF-8 is kept, but control characters (ESC and
// the rest of C0 except tab and newline, DEL, and C1 U+0080..U+009F) and bytes that are not
// valid UTF-8 are written as \xNN (C1 as \u0080..\u009F), so a label holding an ANSI escape
// sequence cannot recolour or clear the terminal. Idempotent. Every Error message goes
// through it (format_place), and tables print labels and file names through it.
std::string terminal_safe(std::string_view text);

}  // namespace chickenseg
