// Synthetic videos for the stream tests: bright squares walking over a dark striped floor,
// one entering from the left and one leaving to the right, written with the stream's own
// VideoWriter; and a one-connection-at-a-time HTTP server on 127.0.0.1 for live-source tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/stream/video_writer.h"

namespace chickenseg::test {

inline RgbImage synthetic_frame(int i, uint32_t w = 160, uint32_t h = 120) {
    RgbImage img{w, h, std::vector<uint8_t>(size_t{w} * h * 3)};
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            uint8_t* p = &img.pixels[(size_t{y} * w + x) * 3];
            p[0] = p[1] = p[2] = static_cast<uint8_t>((y / 8) % 2 ? 40 : 60);
        }
    const auto square = [&](long x0, long y0, long size, uint8_t r, uint8_t g, uint8_t b) {
        for (long y = std::max(0L, y0); y < std::min<long>(h, y0 + size); ++y)
            for (long x = std::max(0L, x0); x < std::min<long>(w, x0 + size); ++x) {
                uint8_t* p = &img.pixels[(size_t(y) * w + x) * 3];
                p[0] = r, p[1] = g, p[2] = b;
            }
    };
    square(-20 + 3 * i, 20, 24, 240, 200, 60);   // enters from the left
    square(100 + 3 * i, 70, 20, 230, 230, 230);  // leaves to the right
    return img;
}

// `frames` frames at `fps`, timestamps i / fps.
inline void write_synthetic_video(const std::filesystem::path& path, int frames, double fps = 10,
                                  const std::string& codec = "") {
    VideoWriterParams p;
    p.path = path;
    p.width = 160;
    p.height = 120;
    p.fps = fps;
    p.codec = codec;
    VideoWriter w(p);
    for (int i = 0; i < frames; ++i) w.write(synthetic_frame(i), i / fps);
    w.close();
}

// Serves `body` over HTTP to each of the next `connections` clients, then stops accepting.
// With `silent`, it accepts and never answers (a camera that hangs).
class LocalHttpServer {
public:
    LocalHttpServer(std::string body, int connections, bool silent = false)
        : body_(std::move(body)), connections_(connections), silent_(silent) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, 4);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~LocalHttpServer() {
        done_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url(const std::string& name = "live.ts") const {
        return "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
    }

private:
    void serve() {
        for (int n = 0; n < connections_ && !done_; ++n) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            char buf[4096];
            (void)::recv(c, buf, sizeof buf, 0);  // the request
            if (silent_) {
                while (!done_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            } else {
                const std::string head = "HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n";
                (void)::send(c, head.data(), head.size(), MSG_NOSIGNAL);
                (void)::send(c, body_.data(), body_.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        }
    }
    std::string body_;
    int connections_;
    bool silent_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace chickenseg::test
