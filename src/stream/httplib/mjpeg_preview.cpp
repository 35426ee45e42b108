#include "chickenseg/stream/mjpeg_preview.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

constexpr const char* kBoundary = "chickensegframe";
constexpr const char* kPage =
    "<!doctype html><html><head><title>chickenseg stream</title></head>"
    "<body style=\"margin:0;background:#111\"><img src=\"/stream.mjpg\" style=\"width:100%\"></body></html>";

}  // namespace

bool mjpeg_preview_available() { return true; }

struct MjpegPreview::Impl {
    httplib::Server server;
    std::thread thread;
    int port = 0;
    std::mutex mutex;
    std::condition_variable changed;
    RgbImage frame;
    uint64_t sequence = 0;  // of the newest frame; 0: none yet
    bool stopping = false;

    // Waits (bounded, so a stop is seen) for a frame newer than `seen`; its JPEG, or "" when none.
    std::string next_jpeg(uint64_t& seen) {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping || sequence > seen; });
        if (stopping || sequence <= seen) return {};
        seen = sequence;
        const RgbImage copy = frame;
        lock.unlock();
        return encode_jpeg(copy, 80);
    }

    void routes() {
        server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kPage, "text/html"); });
        server.Get("/frame.jpg", [this](const httplib::Request&, httplib::Response& res) {
            uint64_t seen = 0;
            const std::string jpeg = next_jpeg(seen);
            if (jpeg.empty()) {
                res.status = 503;
                res.set_content("no frame yet\n", "text/plain");
                return;
            }
            res.set_content(jpeg, "image/jpeg");
        });
        server.Get("/stream.mjpg", [this](const httplib::Request&, httplib::Response& res) {
            auto seen = std::make_shared<uint64_t>(0);
            res.set_header("Cache-Control", "no-cache");
            res.set_content_provider(std::string("multipart/x-mixed-replace; boundary=") + kBoundary,
                                     [this, seen](size_t, httplib::DataSink& sink) {
                                         const std::string jpeg = next_jpeg(*seen);
                                         {
                                             std::lock_guard lock(mutex);
                                             if (stopping) return false;
                                         }
                                         if (jpeg.empty()) return true;  // nothing new: ask again
                                         const std::string head = std::string("--") + kBoundary +
                                                                  "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                                                  std::to_string(jpeg.size()) + "\r\n\r\n";
                                         return sink.write(head.data(), head.size()) &&
                                                sink.write(jpeg.data(), jpeg.size()) && sink.write("\r\n", 2);
                                     });
        });
    }
};

MjpegPreview::MjpegPreview(int port) : impl_(std::make_unique<Impl>()) {
    const std::string address = "127.0.0.1:" + std::to_string(port);
    if (port < 0 || port > 65535) throw Error("preview port " + std::to_string(port) + ": expected 0 to 65535");
    impl_->routes();
    // cpp-httplib's default adds SO_REUSEPORT, with which a second server on a taken port binds
    // without an error and the browser reaches either.
    impl_->server.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    if (port == 0) {
        impl_->port = impl_->server.bind_to_any_port("127.0.0.1");
        if (impl_->port < 0) throw Error("preview: cannot listen on 127.0.0.1 (no free port)");
    } else {
        if (!impl_->server.bind_to_port("127.0.0.1", port))
            throw Error("preview: cannot listen on " + address + " (is the port taken?)");
        impl_->port = port;
    }
    impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
    // stop() does nothing to a server whose loop has not started yet: wait for the loop, so
    // that the destructor always ends it.
    for (int i = 0; i < 500 && !impl_->server.is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

MjpegPreview::~MjpegPreview() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->changed.notify_all();
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void MjpegPreview::publish(const RgbImage& frame) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->frame = frame;
        ++impl_->sequence;
    }
    impl_->changed.notify_all();
}

int MjpegPreview::port() const { return impl_->port; }
std::string MjpegPreview::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/"; }

}  // namespace chickenseg
