// `chickenseg annotate`: a local web application over a folder to annotate (docs/annotate.md).
// The server (cpp-httplib) serves one page (HTML, script and style built into the binary: it
// works offline) and a JSON API that the page, and tests, drive:
//   GET  /                        the page
//   GET  /api/images              every image: file, labelme, reviewed, negative; done, total
//   GET  /api/image/<file>        the image's bytes
//   GET  /api/annotation?file=F   its annotation (annotation.h)
//   GET  /api/candidates?file=F   every query's score and a pixel inside its mask
//   POST /api/click               {"file", "x", "y"} -> the mask of the clicked object
//   POST /api/save                {"file", "shapes", "flags"} -> writes the LabelMe file
// Every request carries the access token (query `token=` or header X-Chickenseg-Token), else
// 403. It listens on 127.0.0.1 unless told otherwise; request bodies are limited.
// Built without cpp-httplib, AnnotateServer's constructor throws Error saying so.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "chickenseg/annotate/annotate_folder.h"
#include "chickenseg/annotate/feature_cache.h"
#include "chickenseg/runtime/engine.h"

namespace chickenseg {

inline constexpr const char* kTokenHeader = "X-Chickenseg-Token";

struct AnnotateParams {
    std::string host = "127.0.0.1";    // where to listen; another host exposes the folder to that network
    int port = 8719;                   // 0: a free port, chosen by the system
    std::string token;                 // "" = a random 128-bit token (hex)
    std::string prompt;                // the concept ("" = the package's first prompt)
    size_t cache_images = 32;          // images whose encoder features are kept
    size_t max_body_bytes = 4u << 20;  // a larger request body is refused (413)
    double mask_threshold = -1;        // on the mask probabilities (negative: the package's)
    int threads = 4;                   // request threads
};
AnnotateParams annotate_default_params();

// A random access token: 32 hex digits from the system's random device.
std::string make_access_token();

class AnnotateServer {
public:
    // Opens the folder and binds the address (throws Error: no image, address in use).
    AnnotateServer(const Engine& engine, const std::filesystem::path& folder, const AnnotateParams& params);
    ~AnnotateServer();
    AnnotateServer(const AnnotateServer&) = delete;
    AnnotateServer& operator=(const AnnotateServer&) = delete;

    int port() const;
    const std::string& token() const;
    std::string url() const;  // http://host:port/?token=...
    const AnnotateFolder& folder() const;

    // Serves until stop() (from another thread) or, with `until_signal`, SIGINT or SIGTERM.
    void run(bool until_signal);
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chickenseg
