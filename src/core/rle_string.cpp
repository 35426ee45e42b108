// COCO's compressed RLE strings (maskApi's rleToString / rleFrString): the encoder, the checked
// decoder that names every problem, and the fast decoder rle_from_string uses (scalar here, the
// reference; AVX2 in rle_x86.cpp), which only flags problems and leaves the naming to the
// checked one.
#include "chickenseg/core/rle.h"

#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "chickenseg/core/error.h"
#include "core/rle_decode.h"
#include "core/rle_internal.h"

namespace chickenseg {
using namespace rle_internal;

std::string rle_to_string(const Rle& rle) {
    // 5 data bits per character (ASCII 48..111), bit 0x20 = more characters follow,
    // bit 0x10 of the last character = sign; runs after the second are stored as the
    // difference to the run two places earlier.
    std::string s;
    s.reserve(rle.counts.size() * 2);
    for (size_t i = 0; i < rle.counts.size(); ++i) {
        int64_t x = rle.counts[i];
        if (i > 2) x -= rle.counts[i - 2];
        bool more = true;
        while (more) {
            int c = static_cast<int>(x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            s.push_back(static_cast<char>(c + 48));
        }
    }
    return s;
}

namespace {

// Decodes COCO's compressed counts, calling emit(run) for each run, and checks them:
// valid characters, no truncated value, every run in [0, 2^32). Returns the sum of the
// runs (the caller compares it with h*w). One loop serves decoding and validation, so
// both give the same messages.
template <class Emit>
uint64_t decode_counts(std::string_view counts, Emit&& emit) {
    // A run is at most 2^32 - 1 and a delta lies within +-(2^32 - 1): 34 bits with the
    // sign, 7 characters. Longer values cannot come from a valid mask.
    constexpr int kMaxChars = 7;
    const size_t n = counts.size();
    uint64_t sum = 0;
    int64_t previous = 0, before_previous = 0;  // runs m-1 and m-2: deltas refer to m-2
    size_t m = 0;
    size_t p = 0;
    while (p < n) {
        const size_t start = p;
        int64_t x = 0;
        int k = 0;
        int c = 0;
        do {
            if (p >= n)
                throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                            " is truncated (the string ends after a character with the continuation bit)");
            auto ch = static_cast<unsigned char>(counts[p]);
            if (ch < 48 || ch > 111)
                throw Error("malformed RLE counts: invalid character (byte " + std::to_string(ch) + ") at offset " +
                            std::to_string(p) + ", expected characters '0' (48) to 'o' (111)");
            if (k == kMaxChars)
                throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                            " is longer than " + std::to_string(kMaxChars) +
                            " characters (a run length must fit in 32 bits)");
            c = ch - 48;
            x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
            ++p;
            ++k;
        } while (c & 0x20);
        if (c & 0x10) x |= -(int64_t{1} << (5 * k));  // sign extension
        if (m > 2) x += before_previous;
        if (x < 0)
            throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                        " decodes to " + std::to_string(x) + ", expected a run length >= 0");
        if (x > std::numeric_limits<uint32_t>::max())
            throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                        " decodes to " + std::to_string(x) + ", expected a run length < 2^32");
        emit(static_cast<uint32_t>(x));
        sum += static_cast<uint64_t>(x);
        before_previous = previous;
        previous = x;
        ++m;
    }
    return sum;
}

void check_counts_sum(uint64_t sum, uint32_t h, uint32_t w) {
    if (sum != pixel_count(h, w))
        throw Error("malformed RLE counts: RLE counts sum to " + std::to_string(sum) + ", expected h*w = " +
                    std::to_string(h) + "*" + std::to_string(w) + " = " + std::to_string(pixel_count(h, w)));
}

}  // namespace

namespace {

// The scalar fast decoder: the same arithmetic as decode_counts, shaped for real masks,
// where almost every run is one character (a small delta: 1.02 characters per run in
// bench/eval_bench.py's masks). Problems are only flagged; the caller re-runs
// decode_counts, which names them. With kStore, `out` needs room for count_runs
// values. Returns false on any problem, else sets `runs` and `sum`. It is the reference
// for the SIMD decoders below.
template <bool kStore>
bool decode_counts_scalar(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum) {
    const auto* p = reinterpret_cast<const unsigned char*>(counts.data());
    const auto* end = p + counts.size();
    int64_t previous = 0, before_previous = 0;  // runs m-1 and m-2: deltas refer to m-2
    size_t m = 0;
    uint64_t total = 0;
    bool bad = false;
    while (p < end) {
        int64_t v;
        if (!read_value(p, end, v)) return false;
        int64_t x = v + (m > 2 ? before_previous : 0);
        bad |= (x < 0) | (x > int64_t{0xFFFFFFFF});
        if constexpr (kStore) out[m] = static_cast<uint32_t>(x);
        total += static_cast<uint64_t>(x);
        before_previous = previous;
        previous = x;
        ++m;
    }
    runs = m;
    sum = total;
    return !bad;
}

size_t count_runs_scalar(std::string_view counts) {
    size_t runs = 0;
    for (char ch : counts) runs += ends_run(static_cast<unsigned char>(ch));
    return runs;
}

// The decoder rle_from_string and rle_check_string use. With kStore, `out` needs room for
// count_runs + kRleStoreSlack values.
template <bool kStore>
bool decode_counts_fast(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum, size_t& block_chars) {
#ifdef CHICKENSEG_RLE_HAVE_SIMD
    if (simd_available()) return decode_counts_avx2<kStore>(counts, out, runs, sum, block_chars);
#endif
    block_chars = 0;
    return decode_counts_scalar<kStore>(counts, out, runs, sum);
}

size_t count_runs(std::string_view counts) {
#ifdef CHICKENSEG_RLE_HAVE_SIMD
    if (simd_available()) return count_runs_avx2(counts);
#endif
    return count_runs_scalar(counts);
}

template <bool kStore>
bool decode_counts_fast(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum) {
    size_t block_chars = 0;
    return decode_counts_fast<kStore>(counts, out, runs, sum, block_chars);
}

}  // namespace

namespace detail {

size_t rle_string_capacity(std::string_view counts) { return count_runs(counts) + kRleStoreSlack; }

RleStringDecode rle_string_decode(std::string_view counts, uint32_t* out, RleStringDecoder decoder) {
    RleStringDecode r;
    if (decoder == RleStringDecoder::scalar)
        r.ok = out ? decode_counts_scalar<true>(counts, out, r.runs, r.sum)
                   : decode_counts_scalar<false>(counts, nullptr, r.runs, r.sum);
    else
        r.ok = out ? decode_counts_fast<true>(counts, out, r.runs, r.sum, r.block_chars)
                   : decode_counts_fast<false>(counts, nullptr, r.runs, r.sum, r.block_chars);
    return r;
}

const char* rle_string_simd_name() { return simd_available() ? "avx2" : "none"; }

}  // namespace detail

void rle_from_string(std::string_view counts, uint32_t h, uint32_t w, Rle& out) {
    // Counting the run ends first sizes the vector exactly, plus the few values the SIMD
    // decoder may write past the last run. (Reserving one slot per character made
    // 100,000 masks cost 170 MB of page faults.)
    out.h = h;
    out.w = w;
    out.counts.resize(count_runs(counts) + detail::kRleStoreSlack);
    size_t runs = 0;
    uint64_t sum = 0;
    if (!decode_counts_fast<true>(counts, out.counts.data(), runs, sum) || sum != pixel_count(h, w)) {
        // Something is wrong: the checked decoder says what (and throws).
        out.counts.clear();
        check_counts_sum(decode_counts(counts, [&](uint32_t run) { out.counts.push_back(run); }), h, w);
        return;  // not reached for a string the fast decoder refused
    }
    out.counts.resize(runs);
}

Rle rle_from_string(std::string_view counts, uint32_t h, uint32_t w) {
    Rle r;
    rle_from_string(counts, h, w, r);
    return r;
}

CompressedRle::CompressedRle(uint32_t h_, uint32_t w_, std::string counts) : h(h_), w(w_) {
    auto owned = std::make_shared<const std::string>(std::move(counts));
    counts_ = *owned;
    buffer_ = std::move(owned);
}

CompressedRle::CompressedRle(uint32_t h_, uint32_t w_, std::string_view counts, std::shared_ptr<const void> buffer)
    : h(h_), w(w_), buffer_(std::move(buffer)), counts_(counts) {}

CompressedRle rle_compress(const Rle& rle) { return CompressedRle(rle.h, rle.w, rle_to_string(rle)); }

Rle rle_decompress(const CompressedRle& compressed) {
    return rle_from_string(compressed.counts(), compressed.h, compressed.w);
}

void rle_check_string(std::string_view counts, uint32_t h, uint32_t w) {
    size_t runs = 0;
    uint64_t sum = 0;
    if (!decode_counts_fast<false>(counts, nullptr, runs, sum) || sum != pixel_count(h, w))
        check_counts_sum(decode_counts(counts, [](uint32_t) {}), h, w);
}

}  // namespace chickenseg
