// Position of each id in a list of int64 ids (image ids, annotation ids). A flat table
// when the ids are dense, as COCO and SA-Co files number them (1..N), else a hash map:
// eval looks up the image of every prediction (100,000+ lookups) more than once, and a
// table lookup is a load where a hash lookup is a hash, a division and a chase.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chickenseg {

class IdIndex {
public:
    static constexpr size_t npos = static_cast<size_t>(-1);

    // Positions are indices into `ids`. A repeated id keeps its first position and is
    // reported by duplicate().
    explicit IdIndex(std::span<const int64_t> ids);

    size_t find(int64_t id) const {
        if (dense_) {
            // Unsigned: ids below min_ wrap to huge values and fail the bound check.
            uint64_t slot = static_cast<uint64_t>(id) - static_cast<uint64_t>(min_);
            return slot < table_.size() ? table_[slot] : npos;
        }
        auto it = map_.find(id);
        return it == map_.end() ? npos : it->second;
    }
    bool contains(int64_t id) const { return find(id) != npos; }

    // The first repeated id as (its first position, the repeat's position).
    std::optional<std::pair<size_t, size_t>> duplicate() const { return duplicate_; }

private:
    bool dense_ = false;
    int64_t min_ = 0;
    std::vector<size_t> table_;  // dense: position of id min_ + slot, or npos
    std::unordered_map<int64_t, size_t> map_;
    std::optional<std::pair<size_t, size_t>> duplicate_;
};

}  // namespace chickenseg
