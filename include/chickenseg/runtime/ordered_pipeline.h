// Work items prepared on worker threads and handed out in input order, with at most
// `capacity` items prepared ahead of the consumer (bounded memory: a decoded 20-megapixel
// photo is 60 MB). The runtime decodes and pre-processes images this way while the engine
// runs on the previous ones.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "chickenseg/core/progress.h"

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
                changed_.wait(lock,
                              [&] { return stopping_ || next_in_ >= count_ || next_in_ < next_out_ + capacity_; });
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

// The loop `chickenseg predict` and `chickenseg mine` share: items [0, count) prepared on
// `threads` workers (prepare(k) -> T, which carries `error`, empty when it is fine), handed on in
// input order: a failed one to on_error(item) (one image of progress), the others gathered into
// batches of batch_size for run_batch(batch) (which returns how many images it finished). At most
// 2 batches (8 items at least) are prepared ahead, so memory stays bounded.
template <class T, class Prepare, class OnError, class RunBatch>
void for_each_batch(size_t count, Prepare&& prepare, unsigned threads, size_t batch_size, Progress& progress,
                    OnError&& on_error, RunBatch&& run_batch) {
    OrderedPipeline<T> pipeline(count, std::forward<Prepare>(prepare), threads, std::max<size_t>(2 * batch_size, 8));
    std::vector<T> batch;
    while (auto item = pipeline.next()) {
        if (!item->error.empty()) {
            on_error(*item);
            progress.tick();
            continue;
        }
        batch.push_back(std::move(*item));
        if (batch.size() == batch_size) {
            progress.tick(run_batch(batch));
            batch.clear();
        }
    }
    if (!batch.empty()) progress.tick(run_batch(batch));
    progress.finish();
}

}  // namespace chickenseg
