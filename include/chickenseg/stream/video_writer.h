// The overlay video of `chickenseg stream`: RGB frames encoded as H.264 (libx264) in MP4 when
// the FFmpeg build has the encoder, else MPEG-4 Part 2, with each frame's stream timestamp as
// its pts. The container follows the file's extension (.mp4, .mkv, .ts), MP4 when unknown. Written to a temporary file
// beside the target and renamed into place by close(), so the file at the target is always a complete, playable MP4.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "chickenseg/core/image.h"

namespace chickenseg {

struct VideoWriterParams {
    std::filesystem::path path;
    uint32_t width = 0;
    uint32_t height = 0;
    double fps = 25;    // nominal rate written in the header; pts come from write()
    std::string codec;  // "" = libx264 when present, else mpeg4
};

class VideoWriter {
public:
    // Opens the encoder and the temporary file. Throws Error naming the path.
    explicit VideoWriter(const VideoWriterParams& params);
    ~VideoWriter();  // without close(): the temporary file is removed
    VideoWriter(const VideoWriter&) = delete;
    VideoWriter& operator=(const VideoWriter&) = delete;

    // One frame at `time` seconds (a time not after the previous frame's is moved just past
    // it). Throws Error when the frame's size is not the writer's.
    void write(const RgbImage& frame, double time);
    // Flushes the encoder, writes the MP4 trailer, renames the file into place.
    void close();

    const std::string& codec() const;
    int64_t frames() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chickenseg
