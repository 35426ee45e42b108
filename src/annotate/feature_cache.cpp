#include "chickenseg/annotate/feature_cache.h"

#include "chickenseg/core/error.h"
#include "chickenseg/core/image.h"

namespace chickenseg {

FeatureCache::FeatureCache(const Engine& engine, size_t capacity) : engine_(engine), capacity_(capacity) {
    if (capacity == 0) throw Error("feature cache: expected room for at least 1 image, given 0");
}

size_t FeatureCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void FeatureCache::forget(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    recent_.erase(it->second.age);
    entries_.erase(it);
}

EncodedBatch FeatureCache::get(const std::string& key, const std::filesystem::path& path, bool* hit) {
    std::promise<EncodedBatch> promise;
    std::shared_future<EncodedBatch> features;
    bool cached = false;
    uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(key);
        cached = it != entries_.end();
        if (cached) {
            recent_.splice(recent_.begin(), recent_, it->second.age);
            features = it->second.features;
        } else {
            // Make room first; a dropped entry's features live on in callers still holding them.
            while (entries_.size() >= capacity_) forget(recent_.back());
            recent_.push_front(key);
            features = promise.get_future().share();
            id = ++next_id_;
            entries_.emplace(key, Entry{features, recent_.begin(), id});
        }
    }
    if (hit) *hit = cached;
    if (cached) return features.get();  // may wait for the caller computing it
    // The encoder runs outside the lock: other images' requests go on meanwhile.
    try {
        const EngineInput input = prepare_engine_input(decode_image(path), engine_.package());
        promise.set_value(engine_.encode({&input, 1}));
    } catch (...) {
        promise.set_exception(std::current_exception());
        std::lock_guard lock(mutex_);
        auto it = entries_.find(key);
        if (it != entries_.end() && it->second.id == id) forget(key);
    }
    return features.get();
}

}  // namespace chickenseg
