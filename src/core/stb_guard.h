// Checks for inputs that the system's stb_image (2.27, Debian 12) mishandles
// without a bounds check, run before handing bytes to it. Found by fuzzing
// decode_image under AddressSanitizer (tests/cpp/image_test.cpp, ImageRobustness):
// - a JPEG Huffman table (DHT) whose 16 code counts add up to more than 256
//   makes stbi__build_huffman write past its 257-entry size array (fixed
//   upstream in stb_image 2.28).
// Not guarded, because it cannot touch memory: on corrupt entropy-coded data
// stb's bit reader (stbi__grow_buffer_unsafe) may shift by 32 or more, which
// UBSan reports; the result is wrong pixels of an already broken file (2.28
// stops reading instead). Private to src/core.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace chickenseg {

// Throws Error naming `name` ("corrupt JPEG: ...") when `jpeg` holds such a table.
// Walks every segment, including those between the scans of a progressive JPEG.
void check_jpeg_for_stb(std::span<const uint8_t> jpeg, const std::string& name);

}  // namespace chickenseg
