#include "chickenseg/stream/video_source.h"

#include <filesystem>

namespace chickenseg {

const char* source_kind_name(SourceKind kind) {
    switch (kind) {
        case SourceKind::file:
            return "file";
        case SourceKind::image_sequence:
            return "image sequence";
        case SourceKind::rtsp:
            return "rtsp";
        case SourceKind::http:
            return "http";
        case SourceKind::device:
            return "device";
    }
    return "?";
}

SourceKind source_kind(const std::string& url) {
    auto starts = [&](const char* prefix) { return url.rfind(prefix, 0) == 0; };
    if (starts("rtsp://") || starts("rtsps://")) return SourceKind::rtsp;
    if (starts("http://") || starts("https://")) return SourceKind::http;
    if (starts("/dev/video")) return SourceKind::device;
    std::error_code ec;
    if (url.find('%') != std::string::npos || std::filesystem::is_directory(url, ec)) return SourceKind::image_sequence;
    return SourceKind::file;
}

bool source_is_live(SourceKind kind) {
    return kind == SourceKind::rtsp || kind == SourceKind::http || kind == SourceKind::device;
}

VideoSourceParams video_source_default_params() { return VideoSourceParams{}; }

}  // namespace chickenseg
