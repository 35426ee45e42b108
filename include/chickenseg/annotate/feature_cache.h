// The vision encoder's features of the images being annotated, computed once per image and
// kept in a bounded least-recently-used cache: every click on an image after the first costs
// one decoder run, not an encoder run. Thread-safe: concurrent requests for the same image
// that is not cached yet wait for one encoder run instead of starting their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "chickenseg/runtime/engine.h"

namespace chickenseg {

class FeatureCache {
public:
    // capacity >= 1 images; each entry holds one image's features on the engine's device.
    FeatureCache(const Engine& engine, size_t capacity);

    // The features of the image `path` under the key `key` (decoded, prepared and encoded on
    // a miss; the least recently used entry is dropped when full). `hit` says whether they
    // were cached (or being computed by another caller). A failure (a bad image) is thrown to
    // every caller waiting for it and not cached.
    EncodedBatch get(const std::string& key, const std::filesystem::path& path, bool* hit = nullptr);

    size_t size() const;
    size_t capacity() const { return capacity_; }

private:
    struct Entry {
        std::shared_future<EncodedBatch> features;
        std::list<std::string>::iterator age;  // position in recent_ (front: most recent)
        uint64_t id = 0;                       // which computation (a failed one is forgotten, not a later one)
    };
    void forget(const std::string& key);

    const Engine& engine_;
    size_t capacity_;
    mutable std::mutex mutex_;
    std::list<std::string> recent_;
    std::map<std::string, Entry> entries_;
    uint64_t next_id_ = 0;
};

}  // namespace chickenseg
