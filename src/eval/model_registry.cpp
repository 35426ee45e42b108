#include "chickenseg/eval/model_registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"

namespace chickenseg {

namespace {

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json metrics_ref_to_json(const RegistryMetricsRef& ref) {
    return json{{"file", ref.file}, {"sha256", ref.sha256}, {"cgF1", optional_number(ref.cgf1)}};
}

// Tags and prefixes end up in file names, git tags and shell scripts: keep them plain.
bool is_plain_token(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.';
        if (!ok) return false;
    }
    return true;
}

// Version number of `tag` when it reads "<prefix>-v<digits>", else nullopt.
std::optional<long long> tag_version(const std::string& tag, const std::string& prefix) {
    std::string head = prefix + "-v";
    if (tag.size() <= head.size() || tag.compare(0, head.size(), head) != 0) return std::nullopt;
    const char* first = tag.data() + head.size();
    const char* last = tag.data() + tag.size();
    long long n = 0;
    auto [end, ec] = std::from_chars(first, last, n);
    if (ec != std::errc() || end != last || *first == '0') return std::nullopt;
    return n;
}

// An exclusive flock on "<registry>.lock", released when the object goes away.
class RegistryLock {
public:
    explicit RegistryLock(const std::filesystem::path& registry) {
        if (registry.has_parent_path()) {
            std::error_code ec;
            std::filesystem::create_directories(registry.parent_path(), ec);
            if (ec) throw Error("cannot create folder: " + ec.message(), registry.parent_path().string());
        }
        path_ = registry;
        path_ += ".lock";
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw Error(std::string("cannot open lock file: ") + std::strerror(errno), path_.string());
        while (::flock(fd_, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd_);
            throw Error(std::string("cannot lock: ") + std::strerror(err), path_.string());
        }
    }
    ~RegistryLock() {
        ::flock(fd_, LOCK_UN);
        ::close(fd_);
    }
    RegistryLock(const RegistryLock&) = delete;
    RegistryLock& operator=(const RegistryLock&) = delete;

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

}  // namespace

json registry_entry_to_json(const RegistryEntry& entry) {
    json j = json::object();
    j["name"] = entry.name;
    j["tag"] = entry.tag;
    j["decision"] = entry.decision;
    j["iou_type"] = entry.iou_type;
    j["baseline_metrics"] = metrics_ref_to_json(entry.baseline);
    j["candidate_metrics"] = metrics_ref_to_json(entry.candidate);
    if (entry.checkpoint) j["checkpoint"] = *entry.checkpoint;
    if (entry.dataset_version) j["dataset_version"] = *entry.dataset_version;
    j["gate"] = entry.gate;
    return j;
}

json read_model_registry(const std::filesystem::path& path) {
    const std::string file = path.string();
    if (!std::filesystem::exists(path)) return json{{"schema", kRegistrySchema}, {"models", json::array()}};
    json doc = read_json_file(path);
    if (!doc.is_object())
        throw Error("expected a registry object {\"schema\", \"models\"}, found " + std::string(doc.type_name()), file);
    std::string schema = require_string(doc, "schema", "", file);
    if (schema != kRegistrySchema)
        throw Error("unsupported registry schema \"" + schema + "\" (expected \"" + kRegistrySchema + "\")", file, 0,
                    "schema");
    const json& models = require_field(doc, "models", "", file);
    if (!models.is_array()) throw Error("expected a list, found " + std::string(models.type_name()), file, 0, "models");
    for (size_t i = 0; i < models.size(); ++i) require_string(models[i], "tag", json_index("models", i), file);
    return doc;
}

std::string next_registry_tag(const json& registry, const std::string& prefix) {
    long long highest = 0;
    std::string highest_tag;
    for (const json& m : registry.at("models")) {
        auto it = m.find("tag");
        if (it == m.end() || !it->is_string()) continue;
        if (auto v = tag_version(it->get<std::string>(), prefix); v && *v > highest) {
            highest = *v;
            highest_tag = it->get<std::string>();
        }
    }
    // highest + 1 would overflow (two models would get the same negative tag).
    if (highest == std::numeric_limits<long long>::max())
        throw Error("the registry already holds tag " + highest_tag +
                    ", the largest version number; register under another --tag-prefix");
    return prefix + "-v" + std::to_string(highest + 1);
}

RegistrationResult register_model(const std::filesystem::path& registry_path, const std::string& prefix,
                                  RegistryEntry entry) {
    if (!is_plain_token(prefix))
        throw Error("invalid tag prefix \"" + prefix + "\": expected letters, digits, '-', '_' or '.'");
    if (entry.name.empty()) throw Error("the model name (--candidate-name) must not be empty");
    if (entry.candidate.sha256.empty()) throw Error("the candidate metrics SHA-256 is missing");

    RegistryLock lock(registry_path);
    json registry = read_model_registry(registry_path);
    json& models = registry["models"];
    for (const json& m : models) {
        auto name = m.find("name");
        auto cand = m.find("candidate_metrics");
        auto tag = m.find("tag");
        if (name == m.end() || cand == m.end() || !cand->is_object() || *name != entry.name) continue;
        auto sha = cand->find("sha256");
        if (sha == cand->end() || *sha != entry.candidate.sha256) continue;
        if (!tag_version(tag->get<std::string>(), prefix)) continue;
        return RegistrationResult{tag->get<std::string>(), true, m};
    }
    entry.tag = next_registry_tag(registry, prefix);
    json stored = registry_entry_to_json(entry);
    models.push_back(stored);
    write_json_file(registry_path, registry);
    return RegistrationResult{entry.tag, false, stored};
}

}  // namespace chickenseg
