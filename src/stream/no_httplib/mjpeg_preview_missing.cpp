// The live preview in a build without cpp-httplib: using it is one clear error.
#include "chickenseg/core/error.h"
#include "chickenseg/stream/mjpeg_preview.h"

namespace chickenseg {

bool mjpeg_preview_available() { return false; }

struct MjpegPreview::Impl {};
MjpegPreview::MjpegPreview(int) {
    throw Error("--preview: chickenseg was built without cpp-httplib (install libcpp-httplib-dev and rebuild)");
}
MjpegPreview::~MjpegPreview() = default;
void MjpegPreview::publish(const RgbImage&) {}
int MjpegPreview::port() const { return 0; }
std::string MjpegPreview::url() const { return {}; }

}  // namespace chickenseg
