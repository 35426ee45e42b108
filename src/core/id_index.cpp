#include "core/id_index.h"

#include <algorithm>

namespace chickenseg {

IdIndex::IdIndex(std::span<const int64_t> ids) {
    auto record = [this](size_t existing, size_t i) {
        if (!duplicate_) duplicate_ = std::make_pair(existing, i);
    };
    if (!ids.empty()) {
        auto [lo, hi] = std::minmax_element(ids.begin(), ids.end());
        // Dense when a table of the id range is at most 4 slots per id (+ a little for
        // small lists); the range is computed unsigned so that it cannot overflow.
        uint64_t range = static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo);
        if (range < 4 * static_cast<uint64_t>(ids.size()) + 64) {
            dense_ = true;
            min_ = *lo;
            table_.assign(static_cast<size_t>(range) + 1, npos);
            for (size_t i = 0; i < ids.size(); ++i) {
                size_t& slot = table_[static_cast<uint64_t>(ids[i]) - static_cast<uint64_t>(min_)];
                if (slot == npos)
                    slot = i;
                else
                    record(slot, i);
            }
            return;
        }
    }
    map_.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        auto [it, inserted] = map_.emplace(ids[i], i);
        if (!inserted) record(it->second, i);
    }
}

}  // namespace chickenseg
