#include "stream/image_sequence.h"

#include <algorithm>
#include <cctype>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

// The lowercase extensions the FFmpeg path takes a folder's pictures by (its glob pattern).
bool picture_extension(std::string ext) {
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

}  // namespace

std::vector<std::filesystem::path> folder_pictures(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    if (ec) throw Error(dir.string() + ": cannot list the folder (" + ec.message() + ")");
    std::sort(files.begin(), files.end());
    const auto first = std::find_if(files.begin(), files.end(),
                                    [](const auto& f) { return picture_extension(f.extension().string()); });
    if (first == files.end())
        throw Error(dir.string() +
                    ": no .jpg, .jpeg, .png or .bmp pictures in the folder (expected an image sequence)");
    const std::string ext = first->extension().string();
    std::erase_if(files, [&](const auto& f) { return f.extension().string() != ext; });
    return files;
}

ImageSequence::ImageSequence(const std::string& url) : url_(url) {
    std::error_code ec;
    if (std::filesystem::is_directory(url, ec)) {
        files_ = folder_pictures(url);
    } else {
        // The pattern: literal text, "%%" for a '%', and one "%d" or "%0Nd" for the number.
        pattern_ = true;
        std::string* part = &prefix_;
        bool number = false;
        for (size_t i = 0; i < url.size(); ++i) {
            if (url[i] != '%') {
                *part += url[i];
                continue;
            }
            if (i + 1 < url.size() && url[i + 1] == '%') {
                *part += '%';
                ++i;
                continue;
            }
            size_t j = i + 1;
            while (j < url.size() && std::isdigit(static_cast<unsigned char>(url[j]))) ++j;
            if (j >= url.size() || url[j] != 'd' || number)
                throw Error(url + ": expected one %d (or %0Nd, such as frames/%05d.png) in an image sequence pattern");
            digits_ = j > i + 1 ? std::stoi(url.substr(i + 1, j - i - 1)) : 0;
            number = true;
            part = &suffix_;
            i = j;
        }
        if (!number)
            throw Error(url + ": expected one %d (or %0Nd, such as frames/%05d.png) in an image sequence pattern");
        // image2 looks for the first frame among start_number .. start_number + 4 (its default range).
        start_ = -1;
        for (int64_t n = 0; n < 5 && start_ < 0; ++n)
            if (std::filesystem::is_regular_file(frame_path(n), ec)) start_ = n;
        if (start_ < 0)
            throw Error(url + ": no such file for the numbers 0 to 4 (expected an image sequence such as " +
                        frame_path(0).string() + ")");
    }
    const auto first = frame_path(0);
    first_ = decode(first, 0);
    width_ = first_->width;
    height_ = first_->height;
    format_ = image_format_name(read_image_info(first).format);
    std::transform(format_.begin(), format_.end(), format_.begin(), [](unsigned char c) { return std::tolower(c); });
}

std::filesystem::path ImageSequence::frame_path(int64_t index) const {
    if (!pattern_) return index < static_cast<int64_t>(files_.size()) ? files_[static_cast<size_t>(index)] : "";
    std::string number = std::to_string(start_ < 0 ? index : start_ + index);
    if (static_cast<int>(number.size()) < digits_) number.insert(0, static_cast<size_t>(digits_) - number.size(), '0');
    return prefix_ + number + suffix_;
}

RgbImage ImageSequence::decode(const std::filesystem::path& path, int64_t index) const {
    try {
        return decode_image(path);
    } catch (const Error& e) {
        // decode_image names the file; the sequence and the frame say where it sits.
        throw Error(url_ + ": cannot decode frame " + std::to_string(index) + " (" + e.what() + ")");
    }
}

bool ImageSequence::read(VideoFrame& frame) {
    RgbImage image;
    if (first_) {
        image = std::move(*first_);
        first_.reset();
    } else {
        const auto path = frame_path(next_);
        std::error_code ec;
        // A pattern ends at its first missing number, as image2's does.
        if (path.empty() || (pattern_ && !std::filesystem::exists(path, ec))) return false;
        image = decode(path, next_);
        if (image.width != width_ || image.height != height_)
            throw Error(url_ + ": the frame size changed from " + std::to_string(width_) + "x" +
                        std::to_string(height_) + " to " + std::to_string(image.width) + "x" +
                        std::to_string(image.height) + " at frame " + std::to_string(next_) + " (" + path.string() +
                        "; expected one size for the whole stream)");
    }
    frame.image = std::move(image);
    frame.index = next_;
    frame.time = static_cast<double>(next_) / kFps;
    frame.dropped_before = 0;
    frame.gap_before = 0;
    ++next_;
    return true;
}

std::string ImageSequence::description() const {
    return format_ + " " + std::to_string(width_) + "x" + std::to_string(height_) + " 25 fps (image sequence)";
}

}  // namespace chickenseg
