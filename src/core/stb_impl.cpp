// The one translation unit that compiles stb_image and stb_image_write.
//
// Only the formats read_image_info recognises are compiled in: stb would
// otherwise also try TGA, which has no signature, and "decode" arbitrary bytes.
// No stdio: files are read by us and written atomically through file_io.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif

#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace chickenseg {

// stb keeps its last failure reason (per thread) and sets none for some corrupt streams: image.cpp
// clears it before each decode, so a failure never reports an earlier file's reason (or null).
void stb_clear_failure_reason() { stbi__g_failure_reason = nullptr; }

}  // namespace chickenseg
