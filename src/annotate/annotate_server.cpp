// The annotator's HTTP server on cpp-httplib (built only when CMake finds it).
#include "chickenseg/annotate/annotate_server.h"

#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "annotate/annotate_page.h"
#include "chickenseg/annotate/click_mask.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/mask_polygons.h"

namespace chickenseg {
namespace {

using Clock = std::chrono::steady_clock;

int g_stop_pipe = -1;  // written by the signal handler of AnnotateServer::run

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Compares without stopping at the first difference, so timing tells nothing about the token.
bool same_token(const std::string& given, const std::string& token) {
    if (given.size() != token.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return diff == 0;
}

const char* content_type(const std::string& file) {
    std::string ext = std::filesystem::path(file).extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".png") return "image/png";
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".gif") return "image/gif";
    if (ext == ".bmp") return "image/bmp";
    if (ext == ".webp") return "image/webp";
    if (ext == ".tif" || ext == ".tiff") return "image/tiff";
    return "application/octet-stream";
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
}

json parse_body(const httplib::Request& req) {
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) throw RequestError(400, "the request body is not a JSON object");
    return body;
}

std::string string_field(const json& body, const char* name) {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_string())
        throw RequestError(400, std::string("expected a string \"") + name + "\"");
    return it->get<std::string>();
}

// A clicked coordinate: a number inside [0, size).
uint32_t pixel_field(const json& body, const char* name, uint32_t size) {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_number())
        throw RequestError(400, std::string("expected a number \"") + name + "\"");
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v >= size)
        throw RequestError(400, std::string(name) + " " + std::to_string(v) + " lies outside the image (0 to " +
                                    std::to_string(size) + ")");
    return static_cast<uint32_t>(v);
}

json images_json(const AnnotateFolder& folder) {
    json list = json::array();
    size_t done = 0;
    for (const auto& im : folder.images()) {
        list.push_back({{"file", im.file},
                        {"labelme", im.labelme},
                        {"width", im.width},
                        {"height", im.height},
                        {"reviewed", im.reviewed},
                        {"negative", im.negative}});
        done += im.reviewed;
    }
    const size_t total = list.size();
    return {{"images", std::move(list)}, {"done", done}, {"total", total}};
}

json polygons_json(const Rle& mask) {
    MaskPolygonParams p;
    p.min_area = 1;  // the clicked part may be small: keep every part
    json out = json::array();
    for (auto& polygon : rle_to_polygons(mask, p)) out.push_back(std::move(polygon));
    return out;
}

}  // namespace

struct AnnotateServer::Impl {
    const Engine& engine;
    AnnotateParams params;
    AnnotateFolder folder;
    FeatureCache cache;
    size_t prompt = 0;
    std::string token;
    int port = 0;
    httplib::Server server;

    Impl(const Engine& e, const std::filesystem::path& root, const AnnotateParams& p)
        : engine(e), params(p), folder(root), cache(e, std::max<size_t>(1, p.cache_images)) {
        prompt = params.prompt.empty() ? 0 : engine.prompt_index(params.prompt);
        token = params.token.empty() ? make_access_token() : params.token;
        // The token travels in URLs: letters, digits, '-' and '_' only, and long enough not to guess.
        const bool plain = token.find_first_not_of(
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == std::string::npos;
        if (token.size() < 16 || !plain)
            throw Error("access token: expected at least 16 letters, digits, '-' or '_'", "", 0, "--token");
    }

    // Every query's detection in the image, from its cached features.
    ImageDetections candidates(const AnnotateImage& im, json& timing) {
        auto start = Clock::now();
        bool hit = false;
        const EncodedBatch features = cache.get(im.file, folder.image_path(im), &hit);
        timing["cached"] = hit;
        timing["encode_ms"] = ms_since(start);
        start = Clock::now();
        DetectParams p;
        p.all_queries = true;
        p.mask_threshold = params.mask_threshold;
        ImageDetections d = engine.detect(features, prompt, p).at(0);
        timing["decode_ms"] = ms_since(start);
        return d;
    }

    json click(const json& body) {
        const AnnotateImage im = folder.image(string_field(body, "file"));
        if (im.width == 0) read_image_info(folder.image_path(im));  // the image's own error
        const uint32_t x = pixel_field(body, "x", im.width), y = pixel_field(body, "y", im.height);
        json out = {{"file", im.file}, {"x", x}, {"y", y}};
        const ImageDetections all = candidates(im, out);
        const Detection* d = choose_click_detection(all, x, y);
        out["found"] = d != nullptr;
        out["presence"] = all.presence;
        if (d) {
            out["query"] = d->query;
            out["score"] = d->score;
            out["bbox"] = d->bbox;
            out["label"] = engine.package().prompts.at(prompt);
            out["polygons"] = polygons_json(d->mask);
        }
        return out;
    }

    json list_candidates(const std::string& file) {
        const AnnotateImage im = folder.image(file);
        json out = {{"file", im.file}};
        const ImageDetections all = candidates(im, out);
        json list = json::array();
        for (const auto& d : all.detections) {
            const auto inner = mask_inner_pixel(d.mask);
            if (!inner) continue;
            list.push_back({{"query", d.query},
                            {"score", d.score},
                            {"area", rle_area(d.mask)},
                            {"point", {inner->first, inner->second}}});
        }
        out["candidates"] = std::move(list);
        return out;
    }

    // Runs a handler, answering its RequestError with its status and any other error as 422
    // (a bad image, a broken file) with the one-line message.
    template <class F>
    static void answer(httplib::Response& res, F&& work) {
        try {
            work();
        } catch (const RequestError& e) {
            send_json(res, {{"error", e.what()}}, e.status());
        } catch (const Error& e) {
            send_json(res, {{"error", e.what()}}, 422);
        } catch (const std::exception& e) {
            send_json(res, {{"error", e.what()}}, 500);
        }
    }

    void check_token(const httplib::Request& req) const {
        std::string given = req.get_header_value(kTokenHeader);
        if (given.empty()) given = req.get_param_value("token");
        if (!same_token(given, token)) throw RequestError(403, "missing or wrong access token");
    }

    void routes() {
        server.set_payload_max_length(params.max_body_bytes);
        server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            try {
                check_token(req);
                return httplib::Server::HandlerResponse::Unhandled;
            } catch (const RequestError& e) {
                send_json(res, {{"error", e.what()}}, e.status());
                return httplib::Server::HandlerResponse::Handled;
            }
        });
        server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
            // Nothing leaves the machine: no external source, no referrer carrying the token.
            res.set_header("Content-Security-Policy",
                           "default-src 'none'; img-src 'self'; script-src 'unsafe-inline'; "
                           "style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'");
            res.set_header("Referrer-Policy", "no-referrer");
            res.set_header("X-Content-Type-Options", "nosniff");
            res.set_header("Cache-Control", "no-store");
        });
        server.Get("/", [](const httplib::Request&, httplib::Response& res) {
            const std::string_view page = annotate_page_html();
            res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
        });
        server.Get("/api/images", [this](const httplib::Request&, httplib::Response& res) {
            answer(res, [&] {
                json out = images_json(folder);
                out["prompt"] = engine.package().prompts.at(prompt);
                send_json(res, out);
            });
        });
        server.Get(R"(/api/image/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            answer(res, [&] {
                const AnnotateImage im = folder.image(req.matches[1].str());
                res.set_content(read_file(folder.image_path(im)), content_type(im.file));
            });
        });
        server.Get("/api/annotation", [this](const httplib::Request& req, httplib::Response& res) {
            answer(res, [&] {
                const std::string file = req.get_param_value("file");
                json out = annotation_to_json(folder.read(file));
                out["file"] = file;
                out["labelme"] = folder.image(file).labelme;
                send_json(res, out);
            });
        });
        server.Get("/api/candidates", [this](const httplib::Request& req, httplib::Response& res) {
            answer(res, [&] { send_json(res, list_candidates(req.get_param_value("file"))); });
        });
        server.Post("/api/click", [this](const httplib::Request& req, httplib::Response& res) {
            answer(res, [&] { send_json(res, click(parse_body(req))); });
        });
        server.Post("/api/save", [this](const httplib::Request& req, httplib::Response& res) {
            answer(res, [&] {
                const json body = parse_body(req);
                const AnnotateImage im = folder.save(string_field(body, "file"), body);
                send_json(res, {{"file", im.file},
                                {"labelme", im.labelme},
                                {"reviewed", im.reviewed},
                                {"negative", im.negative},
                                {"done", folder.reviewed_count()},
                                {"total", folder.images().size()}});
            });
        });
    }
};

AnnotateServer::AnnotateServer(const Engine& engine, const std::filesystem::path& folder, const AnnotateParams& params)
    : impl_(std::make_unique<Impl>(engine, folder, params)) {
    Impl& s = *impl_;
    if (params.port < 0 || params.port > 65535)
        throw Error("port " + std::to_string(params.port) + ": expected 0 (any free port) to 65535");
    const size_t threads = static_cast<size_t>(std::max(1, params.threads));
    s.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // cpp-httplib's default also sets SO_REUSEPORT, with which a second server binds the same port
    // and the kernel splits the requests between the two: reuse the address only.
    s.server.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    s.routes();
    if (params.port == 0) {
        s.port = s.server.bind_to_any_port(params.host);
    } else if (s.server.bind_to_port(params.host, params.port)) {
        s.port = params.port;
    } else {
        s.port = -1;
    }
    if (s.port <= 0)
        throw Error("cannot listen on " + params.host + ":" + std::to_string(params.port) +
                    " (address in use or not this machine's): choose another with --host/--port, or --port 0");
}

AnnotateServer::~AnnotateServer() { stop(); }

int AnnotateServer::port() const { return impl_->port; }
const std::string& AnnotateServer::token() const { return impl_->token; }
const AnnotateFolder& AnnotateServer::folder() const { return impl_->folder; }

std::string AnnotateServer::url() const {
    const std::string& host = impl_->params.host;
    const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return "http://" + shown + ":" + std::to_string(impl_->port) + "/?token=" + impl_->token;
}

void AnnotateServer::stop() {
    if (impl_) impl_->server.stop();
}

void AnnotateServer::run(bool until_signal) {
    if (!until_signal) {
        impl_->server.listen_after_bind();
        return;
    }
    // SIGINT/SIGTERM may arrive on any thread (LibTorch's included), so the handler only writes a
    // byte to a pipe, and a watcher thread stops the server (stopping it from a handler would
    // not be safe).
    int fds[2];
    if (pipe(fds) != 0) throw Error("annotate: cannot make a pipe for the stop signal");
    g_stop_pipe = fds[1];
    struct sigaction action {};
    action.sa_handler = [](int) {
        const char byte = 1;
        [[maybe_unused]] const auto n = write(g_stop_pipe, &byte, 1);
    };
    sigemptyset(&action.sa_mask);
    struct sigaction old_int {
    }, old_term{};
    sigaction(SIGINT, &action, &old_int);
    sigaction(SIGTERM, &action, &old_term);
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        pollfd p{fds[0], POLLIN, 0};
        while (!done) {
            if (poll(&p, 1, 200) > 0) {
                stop();
                return;
            }
        }
    });
    impl_->server.listen_after_bind();
    done = true;
    watcher.join();
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    close(fds[0]);
    close(fds[1]);
}

}  // namespace chickenseg
