// The stream's live preview (stream/mjpeg_preview.h) over real HTTP on 127.0.0.1: the newest
// frame as a JPEG, the MJPEG stream's parts, the page, a taken port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "chickenseg/core/error.h"
#include "chickenseg/core/image.h"
#include "chickenseg/stream/mjpeg_preview.h"

namespace chickenseg {
namespace {

RgbImage frame_of(uint8_t grey) { return RgbImage{64, 48, std::vector<uint8_t>(64 * 48 * 3, grey)}; }

// GET `path` over HTTP/1.0; reads until the server closes or `enough` bytes came.
std::string http_get(int port, const std::string& path, size_t enough = SIZE_MAX) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return {};
    }
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply;
    char buf[4096];
    ssize_t n;
    while (reply.size() < enough && (n = ::recv(fd, buf, sizeof buf, 0)) > 0) reply.append(buf, size_t(n));
    ::close(fd);
    return reply;
}

std::string body_of(const std::string& reply) {
    const size_t at = reply.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : reply.substr(at + 4);
}

#ifdef CHICKENSEG_WITH_PREVIEW
TEST(MjpegPreview, ServesTheNewestFrameAsJpeg) {
    MjpegPreview preview(0);
    ASSERT_GT(preview.port(), 0);
    EXPECT_EQ(preview.url(), "http://127.0.0.1:" + std::to_string(preview.port()) + "/");
    EXPECT_NE(http_get(preview.port(), "/frame.jpg").find(" 503 "), std::string::npos);  // nothing yet
    preview.publish(frame_of(30));
    preview.publish(frame_of(200));
    const std::string reply = http_get(preview.port(), "/frame.jpg");
    EXPECT_NE(reply.find("Content-Type: image/jpeg"), std::string::npos) << reply.substr(0, 200);
    const std::string jpeg = body_of(reply);
    const RgbImage got = decode_image({reinterpret_cast<const uint8_t*>(jpeg.data()), jpeg.size()}, "frame.jpg");
    EXPECT_EQ(got.width, 64u);
    EXPECT_EQ(got.height, 48u);
    EXPECT_NEAR(got.pixels[0], 200, 3);  // the newest
    EXPECT_NE(http_get(preview.port(), "/").find("<img src=\"/stream.mjpg\""), std::string::npos);
}

TEST(MjpegPreview, StreamsEachNewFrameAsAPart) {
    MjpegPreview preview(0);
    std::atomic<bool> done{false};
    std::thread feeder([&] {
        for (int i = 0; !done; ++i) {
            preview.publish(frame_of(static_cast<uint8_t>(i * 10)));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    const std::string reply = http_get(preview.port(), "/stream.mjpg", 6000);
    done = true;
    feeder.join();
    EXPECT_NE(reply.find("multipart/x-mixed-replace; boundary=chickensegframe"), std::string::npos);
    const std::string body = body_of(reply);
    size_t parts = 0;
    for (size_t at = body.find("--chickensegframe\r\nContent-Type: image/jpeg"); at != std::string::npos;
         at = body.find("--chickensegframe\r\nContent-Type: image/jpeg", at + 1))
        ++parts;
    EXPECT_GE(parts, 2u) << body.size();
}

TEST(MjpegPreview, ATakenPortIsOneClearError) {
    MjpegPreview first(0);
    try {
        MjpegPreview second(first.port());
        FAIL() << "a second server on the same port";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
                  std::string::npos)
            << e.what();
    }
}
#else
TEST(MjpegPreview, ABuildWithoutHttplibSaysSo) {
    try {
        MjpegPreview preview(0);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("built without cpp-httplib"), std::string::npos);
    }
}
#endif

}  // namespace
}  // namespace chickenseg
