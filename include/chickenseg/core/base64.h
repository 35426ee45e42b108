// Base64 (RFC 4648 §4, the standard alphabet with '+' and '/'), for LabelMe's
// embedded `imageData` and its `mask` shapes. Decoding is strict: a character
// outside the alphabet, a missing or misplaced '=' is an error, never skipped,
// so a damaged annotation file is reported instead of yielding a wrong image.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {

// Decodes `text`. Line breaks ("\n", "\r\n") are allowed anywhere because MIME
// encoders (Python's base64.encodebytes) wrap lines; every other character must
// be in the alphabet, the length without line breaks a multiple of 4, and '='
// only as the last one or two characters. Throws Error at `place` (the file and
// JSON field the text came from) naming the offset and the bad character.
std::vector<uint8_t> base64_decode(std::string_view text, const ErrorPlace& place = {});

// Encodes with '=' padding and no line breaks (what Python's b64encode writes).
std::string base64_encode(std::span<const uint8_t> bytes);

}  // namespace chickenseg
