// Work items prepared on worker threads and handed out in input order, with at most
// `capacity` items prepared ahead of the consumer (bounded memory: a decoded 20-megapixel
// photo is 60 MB). The runtime decodes and pre-processes images this way while the engine
// runs on the previous ones.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace chickenseg {

template <class T>
class OrderedPipeline {
public:
    // prepare(i) for i in [0, count), on `threads` workers (0 = the cores), never more than
    // `capacity` (>= 1) items ahead of next(). prepare must not throw: an item carries its own
    // error.
    OrderedPipeline(size_t count, std::function<T(size_t)> prepare, unsigned threads, size_t capacity)
        : count_(count), prepare_(std::move(prepare)), capacity_(capacity == 0 ? 1 : capacity) {
        if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
        for (unsigned t = 0; t < threads && t < count; ++t) workers_.emplace_back([this] { work(); });
    }
    ~OrderedPipeline() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        changed_.notify_all();
        for (auto& w : workers_) w.join();
    }
    OrderedPipeline(const OrderedPipeline&) = delete;
    OrderedPipeline& operator=(const OrderedPipeline&) = delete;

    // The next item in input order, waiting for it; nullopt after the last.
    std::optional<T> next() {
        std::unique_lock lock(mutex_);
        if (next_out_ >= count_) return std::nullopt;
        changed_.wait(lock, [&] { return ready_.count(next_out_) > 0; });
        auto it = ready_.find(next_out_);
        T item = std::move(it->second);
        ready_.erase(it);
        ++next_out_;
        lock.unlock();
        changed_.notify_all();
        return item;
    }

private:
    void work() {
        for (;;) {
            size_t i;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return stopping_ || next_in_ >= count_ || next_in_ < next_out_ + capacity_; });
                if (stopping_ || next_in_ >= count_) return;
                i = next_in_++;
            }
            T item = prepare_(i);
            {
                std::lock_guard lock(mutex_);
                ready_.emplace(i, std::move(item));
            }
            changed_.notify_all();
        }
    }

    size_t count_;
    std::function<T(size_t)> prepare_;
    size_t capacity_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<size_t, T> ready_;
    size_t next_in_ = 0;
    size_t next_out_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace chickenseg
