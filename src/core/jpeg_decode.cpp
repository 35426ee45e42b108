// JPEG decoding with libjpeg-turbo, the way Pillow drives it (see jpeg_decode.h).
//
// libjpeg reports a fatal error through error_exit, which must not return: ours
// formats libjpeg's message and longjmps back to run_libjpeg. Between that setjmp
// and a longjmp to it only libjpeg's C code and the C-style callbacks below run,
// and no C++ object is constructed or destroyed, so no destructor is skipped; the
// Error is thrown by jpeg_decode_rgb after run_libjpeg has returned.
#include "jpeg_decode.h"

#include <csetjmp>
#include <cstddef>
#include <memory>
#include <vector>

// clang-format off: jpeglib.h uses FILE and size_t without declaring them, and
// jerror.h (ERREXIT, the JERR_ codes) goes after jpeglib.h.
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace {

struct ErrorManager {
    jpeg_error_mgr pub;  // first: libjpeg's cinfo->err points here
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

// The whole file, in memory: libjpeg calls fill_input_buffer only when it wants
// bytes beyond the end of the file.
struct MemorySource {
    jpeg_source_mgr pub;  // first: libjpeg's cinfo->src points here
    bool rows_done;       // every row was read: the end of the file ends the datastream
    bool truncated;       // the data ended before the last row
};

enum class Outcome { ok, libjpeg_error, components, size };

struct Decoder {
    jpeg_decompress_struct cinfo;
    ErrorManager err;
    MemorySource src;
    uint32_t width;  // from the frame header, as read_image_info found it
    uint32_t height;
    uint8_t* pixels;  // width * height * 3 bytes
    uint8_t* row;     // width * 4 bytes, for grey and CMYK rows
};

const JOCTET kEndOfImage[2] = {0xFF, 0xD9};

void error_exit(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Warnings ("Corrupt JPEG data: 3 extraneous bytes before marker 0xd9") are
// counted by libjpeg and otherwise ignored, as Pillow ignores them.
void output_message(j_common_ptr) {}

void init_source(j_decompress_ptr) {}
void term_source(j_decompress_ptr) {}

boolean fill_input_buffer(j_decompress_ptr cinfo) {
    auto* src = reinterpret_cast<MemorySource*>(cinfo->src);
    if (src->rows_done) {
        // Pillow calls jpeg_finish_decompress after the last row and, when that
        // suspends for want of data, keeps the complete image. Ending the
        // datastream here does the same.
        src->pub.next_input_byte = kEndOfImage;
        src->pub.bytes_in_buffer = sizeof kEndOfImage;
        return TRUE;
    }
    // Pillow's decoder suspends, ImageFile.load finds no more data and raises
    // "image file is truncated".
    src->truncated = true;
    ERREXIT(cinfo, JERR_INPUT_EOF);
    return FALSE;  // not reached
}

void skip_input_data(j_decompress_ptr cinfo, long num_bytes) {
    auto* src = reinterpret_cast<MemorySource*>(cinfo->src);
    if (num_bytes <= 0) return;
    if (static_cast<unsigned long>(num_bytes) > src->pub.bytes_in_buffer) {
        src->pub.next_input_byte += src->pub.bytes_in_buffer;
        src->pub.bytes_in_buffer = 0;
        fill_input_buffer(cinfo);  // ends the datastream, or refuses the truncation
        return;
    }
    src->pub.next_input_byte += num_bytes;
    src->pub.bytes_in_buffer -= static_cast<size_t>(num_bytes);
}

// Pillow's mode-L-to-RGB conversion: the grey value in R, G and B.
void grey_to_rgb(const uint8_t* grey, uint8_t* rgb, uint32_t width) {
    for (uint32_t x = 0; x < width; ++x, rgb += 3) rgb[0] = rgb[1] = rgb[2] = grey[x];
}

// Pillow opens a 4-component JPEG as CMYK with raw mode "CMYK;I" (Adobe's
// inverted CMYK, whatever the file says), so each libjpeg value v becomes 255 - v;
// convert("RGB") then applies Convert.c's cmyk2rgb:
//   nk = 255 - k;  out = clip8(nk - MULDIV255(c, nk)),  MULDIV255(a, b) = (t + (t >> 8)) >> 8, t = a*b + 128.
void inverted_cmyk_to_rgb(const uint8_t* cmyk, uint8_t* rgb, uint32_t width) {
    for (uint32_t x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
        const int k = 255 - cmyk[3];
        const int nk = 255 - k;
        for (int i = 0; i < 3; ++i) {
            const int t = (255 - cmyk[i]) * nk + 128;  // c = 255 - cmyk[i]
            const int v = nk - (((t >> 8) + t) >> 8);
            rgb[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

// All libjpeg calls. See the note at the top of the file about setjmp.
Outcome run_libjpeg(Decoder& d) {
    j_decompress_ptr cinfo = &d.cinfo;
    cinfo->err = jpeg_std_error(&d.err.pub);
    d.err.pub.error_exit = error_exit;
    d.err.pub.output_message = output_message;
    if (setjmp(d.err.jump)) return Outcome::libjpeg_error;

    jpeg_create_decompress(cinfo);
    d.src.pub.init_source = init_source;
    d.src.pub.fill_input_buffer = fill_input_buffer;
    d.src.pub.skip_input_data = skip_input_data;
    d.src.pub.resync_to_restart = jpeg_resync_to_restart;
    d.src.pub.term_source = term_source;
    cinfo->src = &d.src.pub;

    // As Pillow: skip tables-only datastreams until an image header.
    int header = JPEG_HEADER_TABLES_ONLY;
    while (header == JPEG_HEADER_TABLES_ONLY) header = jpeg_read_header(cinfo, FALSE);
    if (header != JPEG_HEADER_OK) ERREXIT(cinfo, JERR_INPUT_EOF);

    // JpegImagePlugin's SOF: 1 layer is mode L, 3 RGB, 4 CMYK; anything else is refused.
    const int components = cinfo->num_components;
    if (components != 1 && components != 3 && components != 4) return Outcome::components;
    if (cinfo->image_width != d.width || cinfo->image_height != d.height) return Outcome::size;
    cinfo->out_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    // Everything else stays at libjpeg's defaults, as in Pillow (no draft mode):
    // dct_method JDCT_ISLOW, do_fancy_upsampling and do_block_smoothing TRUE, no scaling.

    jpeg_start_decompress(cinfo);  // for a progressive JPEG, reads every scan
    if (cinfo->output_width != d.width || cinfo->output_height != d.height || cinfo->output_components != components)
        return Outcome::size;

    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t* out = d.pixels + size_t{cinfo->output_scanline} * d.width * 3;
        JSAMPROW row = components == 3 ? out : d.row;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) ERREXIT(cinfo, JERR_INPUT_EOF);
        if (components == 1) grey_to_rgb(d.row, out, d.width);
        if (components == 4) inverted_cmyk_to_rgb(d.row, out, d.width);
    }
    d.src.rows_done = true;
    // Reads up to the end-of-image marker; an error there (a second SOI, a bad
    // marker) fails the image, as it does in Pillow.
    jpeg_finish_decompress(cinfo);
    return Outcome::ok;
}

std::string size_text(uint64_t w, uint64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

RgbImage jpeg_decode_rgb(std::span<const uint8_t> jpeg, uint32_t width, uint32_t height, const std::string& name) {
    RgbImage image;
    image.width = width;
    image.height = height;
    image.pixels.resize(size_t{width} * height * 3);
    std::vector<uint8_t> row(size_t{width} * 4);

    // Value-initialised: libjpeg's structs start zeroed, as jpeg_destroy_decompress
    // expects even when jpeg_create_decompress never ran.
    auto d = std::make_unique<Decoder>();
    d->width = width;
    d->height = height;
    d->pixels = image.pixels.data();
    d->row = row.data();
    d->src.pub.next_input_byte = jpeg.data();
    d->src.pub.bytes_in_buffer = jpeg.size();

    const Outcome outcome = run_libjpeg(*d);
    const int components = d->cinfo.num_components;
    const std::string libjpeg_size = size_text(d->cinfo.image_width, d->cinfo.image_height);
    jpeg_destroy_decompress(&d->cinfo);

    switch (outcome) {
        case Outcome::ok:
            return image;
        case Outcome::libjpeg_error:
            if (d->src.truncated)
                throw Error(std::string("truncated image: the JPEG data ends before its last row (libjpeg: ") +
                                d->err.message + ")",
                            name);
            throw Error(std::string("cannot decode JPEG pixels: libjpeg: ") + d->err.message, name);
        case Outcome::components:
            throw Error("cannot decode JPEG pixels: " + std::to_string(components) +
                            " components; Pillow decodes 1 (grey), 3 (colour) or 4 (CMYK)",
                        name);
        case Outcome::size:
            break;
    }
    throw Error("cannot decode JPEG pixels: libjpeg reads a " + libjpeg_size + " image, the frame header says " +
                    size_text(width, height),
                name);
}

}  // namespace chickenseg
