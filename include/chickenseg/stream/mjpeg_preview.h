// The stream's live preview: an HTTP server on 127.0.0.1 (cpp-httplib) that shows the newest
// overlay frame to a browser as MJPEG (multipart/x-mixed-replace, what <img> plays natively).
//   /             a page with the picture
//   /stream.mjpg  the frames as they come (a JPEG per new frame; a slow viewer skips frames,
//                 it never slows the stream)
//   /frame.jpg    the newest frame once
// JPEG encoding happens in the server's threads, only for connected viewers: publish() only
// copies the pixels.
#pragma once

#include <memory>
#include <string>

#include "chickenseg/core/image.h"

namespace chickenseg {

// True when this build has the preview (cpp-httplib was found at build time).
bool mjpeg_preview_available();

class MjpegPreview {
public:
    // Listens on 127.0.0.1:port (0: a free port, see port()). Throws Error naming the address
    // when it cannot listen (the port is taken) or this build has no preview.
    explicit MjpegPreview(int port);
    ~MjpegPreview();  // stops the server and waits for its threads
    MjpegPreview(const MjpegPreview&) = delete;
    MjpegPreview& operator=(const MjpegPreview&) = delete;

    // The newest frame; viewers get it as their next JPEG.
    void publish(const RgbImage& frame);
    int port() const;
    std::string url() const;  // http://127.0.0.1:PORT/

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chickenseg
