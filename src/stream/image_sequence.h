// An image sequence read without FFmpeg: a folder of pictures or a printf pattern
// (frames/%05d.png), decoded with core's decode_image (libjpeg-turbo for JPEG, as `chickenseg
// predict` reads its images). It reads what FFmpeg's image2 demuxer reads for the same address,
// so a build without FFmpeg streams the same frames:
// - a folder: its files (not hidden, not in subfolders) with the extension of the first picture
//   by name (.jpg, .jpeg, .png or .bmp, as the FFmpeg path's glob), in name order;
// - a pattern: one %d (%0Nd) for the number and %% for a '%'; the first number is the first
//   existing file among 0..4 (image2's start_number_range), then every next number until one is
//   missing.
// 25 fps (image2's default), time = index / 25; the size is the first frame's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/stream/video_source.h"

namespace chickenseg {

// A folder's pictures as image2's glob "DIR/*.EXT" matches them: its visible files with the
// extension of the first picture by name (compared as written), sorted by name. Throws Error
// naming the folder when it holds no picture; never empty otherwise.
std::vector<std::filesystem::path> folder_pictures(const std::filesystem::path& dir);

class ImageSequence {
public:
    static constexpr double kFps = 25;  // image2's default frame rate

    // Lists the folder (or finds the pattern's first number) and decodes the first frame, so a
    // bad sequence is an Error naming it before anything else starts: no pictures, a pattern
    // without a number or without a first file, a first frame that does not decode.
    explicit ImageSequence(const std::string& url);

    // The next frame (index, time and image set). False after the last. Throws Error naming
    // the file for a frame that does not decode or whose size differs from the first frame's.
    bool read(VideoFrame& frame);

    uint32_t width() const { return width_; }
    uint32_t height() const { return height_; }
    // "jpeg 640x480 25 fps (image sequence)": the first frame's format.
    std::string description() const;

private:
    std::filesystem::path frame_path(int64_t index) const;  // "" past the end
    RgbImage decode(const std::filesystem::path& path, int64_t index) const;

    std::string url_;
    std::vector<std::filesystem::path> files_;  // a folder's pictures
    std::string prefix_, suffix_;               // a pattern's text around its number
    int digits_ = 0;                            // the pattern's zero padding (%05d: 5)
    int64_t start_ = 0;                         // the pattern's first number
    bool pattern_ = false;
    int64_t next_ = 0;
    std::optional<RgbImage> first_;  // decoded when opened, handed out by the first read
    std::string format_;
    uint32_t width_ = 0, height_ = 0;
};

}  // namespace chickenseg
