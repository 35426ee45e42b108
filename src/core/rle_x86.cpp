// The x86-64 fast paths of the RLE code, compiled for AVX2 and POPCNT and used only where the
// CPU has them (simd_available): the per-column IoU sums (reference: column_overlap_portable,
// rle_internal.h) and the COCO string decoder (reference: the scalar decoder, rle_string.cpp).
// tests/cpp/rle_test.cpp runs each against its reference on the same inputs.
#include "core/rle_internal.h"

#ifdef CHICKENSEG_RLE_HAVE_SIMD
#include <immintrin.h>
#endif

namespace chickenseg::rle_internal {

#ifdef CHICKENSEG_RLE_HAVE_SIMD
CHICKENSEG_RLE_TARGET inline __m256i load8(const uint32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// column_overlap_portable, 8 columns at a time.
CHICKENSEG_RLE_TARGET uint32_t column_overlap_avx2(const uint32_t* ta, const uint32_t* ba, const uint32_t* tb,
                                                   const uint32_t* bb, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256i t = _mm256_max_epu32(load8(ta + k), load8(tb + k));
        __m256i b = _mm256_min_epu32(load8(ba + k), load8(bb + k));
        acc = _mm256_add_epi32(acc, _mm256_sub_epi32(_mm256_max_epu32(b, t), t));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return static_cast<uint32_t>(_mm_cvtsi128_si32(s)) + column_overlap_portable(ta + k, ba + k, tb + k, bb + k, n - k);
}

// Loading 16 bytes at kLeadingLanes + 16 - k gives a mask of the first k lanes.
alignas(32) constexpr unsigned char kLeadingLanes[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// pshufb indices: loading 16 at kLaneShift + s moves lane s + j to lane j, and zeroes the
// lanes that would come from past lane 15 (index bit 7 set).
alignas(32) constexpr unsigned char kLaneShift[32] = {0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,
                                                      11,   12,   13,   14,   15,   0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                                      0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

// The 16 characters at p, minus 48. Near the end of the string (end - p < 16, but the
// string has 16 characters) the last 16 are loaded and shifted down so that lane 0 is
// p; the lanes past the end become 0 - 48, an invalid character, which stops the block.
CHICKENSEG_RLE_TARGET inline __m128i load_block(const unsigned char* p, const unsigned char* end) {
    const __m128i k48 = _mm_set1_epi8(48);
    if (end - p >= 16) return _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), k48);
    __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16));
    __m128i shift = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLaneShift + 16 - (end - p)));
    return _mm_sub_epi8(_mm_shuffle_epi8(last, shift), k48);
}

// The AVX2 decoder. A block is the 16 characters at p, at run m >= 3 (where every
// value is a delta to the run two before). Its leading k characters that are
// one-character values (c - 48 in 0..31: deltas -16..15) are decoded together:
//   run[m + j] = base(j) + P[j],  base = run[m - 2] for even j, run[m - 1] for odd j,
// with P[j] the sum of the deltas at j, j - 2, j - 4, ... (8 at most, so -128..120 fits
// int8). The block's runs are checked against < 0 with the minimum of P per parity;
// blocks only start while both bases are <= 2^32 - 1 - 120, so no run can pass 2^32 - 1.
// Lane k then starts a multi-character value (1 per 100 characters in real masks), which
// is decoded from the same vector without a loop where it lies within the block, else by
// read_value. Runs of 32 one-character values in a row take a wider loop: two such
// blocks side by side in the 128-bit halves of a 256-bit vector, the bases kept in a
// vector. Any problem returns false at once (the scalar decoder returns false too, only
// later). The steps are members of one state so that each reads alone; they are forced
// inline, so the loop compiles as one function.
#define CHICKENSEG_RLE_STEP CHICKENSEG_RLE_TARGET __attribute__((always_inline)) inline

template <bool kStore>
class CountsDecoderAvx2 {
public:
    CHICKENSEG_RLE_STEP CountsDecoderAvx2(std::string_view counts, uint32_t* out)
        : begin_(reinterpret_cast<const unsigned char*>(counts.data())),
          end_(begin_ + counts.size()),
          p_(begin_),
          out_(out),
          prefix_total_(_mm_setzero_si128()),
          prefix_wide_(_mm256_setzero_si256()),
          base_total_(_mm_setzero_si128()) {}

    CHICKENSEG_RLE_STEP bool run() {
        while (p_ < end_) {
            if (m_ < 3 || end_ - begin_ < 16 || std::max(previous_, before_previous_) > kMaxBase) {
                if (!scalar_value()) return false;
                continue;
            }
            if (end_ - p_ >= 32) {
                wide_blocks();
                if (p_ == end_) break;
                if (std::max(previous_, before_previous_) > kMaxBase) continue;
            }
            const __m128i c = load_block(p_, end_);
            // c >= 32 (unsigned) marks a multi-character value or an invalid byte: bit 7 after
            // a saturating + 96.
            const unsigned multi = static_cast<unsigned>(_mm_movemask_epi8(_mm_adds_epu8(c, _mm_set1_epi8(96))));
            const int k = multi ? __builtin_ctz(multi) : 16;
            if (!block(c, k)) return false;
            if (k == 16) continue;
            if (p_ == end_) break;  // the lanes past the end of a tail block
            if (!value_at_lane(c, multi, k)) return false;
        }
        return true;
    }

    // Everything the blocks left in vectors, less the bias.
    CHICKENSEG_RLE_STEP void finish(size_t& runs, uint64_t& sum, size_t& block_chars) {
        __m128i t = _mm_add_epi64(prefix_total_, _mm_add_epi64(base_total_, _mm256_castsi256_si128(prefix_wide_)));
        t = _mm_add_epi64(t, _mm256_extracti128_si256(prefix_wide_, 1));
        total_ += static_cast<uint64_t>(_mm_cvtsi128_si64(t)) + static_cast<uint64_t>(_mm_extract_epi64(t, 1)) -
                  128 * biased_;
        runs = m_;
        sum = total_;
        block_chars = static_cast<size_t>(end_ - begin_) - scalar_chars_;
    }

private:
    static constexpr int64_t kMaxBase = int64_t{0xFFFFFFFF} - 120;

    // Adds one value decoded outside a block (the arithmetic of decode_counts_scalar).
    CHICKENSEG_RLE_STEP bool add_run(int64_t v) {
        int64_t x = v + (m_ > 2 ? before_previous_ : 0);
        if (x < 0 || x > int64_t{0xFFFFFFFF}) return false;
        if constexpr (kStore) out_[m_] = static_cast<uint32_t>(x);
        total_ += static_cast<uint64_t>(x);
        before_previous_ = previous_;
        previous_ = x;
        ++m_;
        return true;
    }

    // One value read character by character.
    CHICKENSEG_RLE_STEP bool scalar_value() {
        const auto* start = p_;
        int64_t v;
        if (!read_value(p_, end_, v) || !add_run(v)) return false;
        scalar_chars_ += static_cast<size_t>(p_ - start);
        return true;
    }

    // The wide loop. In each half, P and its per-parity minimum are as in the 16-character
    // block; the upper half's bases are the runs m+14 and m+15. Nothing is committed for a
    // block that is not all one-character values, has a run < 0, or starts on a base over
    // 2^32 - 1 - 240: the 16-character path takes it (and finds the problem, exactly).
    CHICKENSEG_RLE_STEP void wide_blocks() {
        const __m256i w16 = _mm256_set1_epi8(16), w48 = _mm256_set1_epi8(48), w96 = _mm256_set1_epi8(96);
        const __m256i w128 = _mm256_set1_epi8(-128), zero256 = _mm256_setzero_si256();
        const __m128i max_wide_base = _mm_set1_epi64x(int64_t{0xFFFFFFFF} - 240);
        __m128i base = _mm_set_epi64x(previous_, before_previous_);  // int64 runs m-2, m-1
        while (end_ - p_ >= 32) {
            __m256i c = _mm256_sub_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p_)), w48);
            if (_mm256_movemask_epi8(_mm256_adds_epu8(c, w96))) break;
            __m256i d = _mm256_sub_epi8(_mm256_xor_si256(c, w16), w16);
            __m256i pre = _mm256_add_epi8(d, _mm256_slli_si256(d, 2));
            pre = _mm256_add_epi8(pre, _mm256_slli_si256(pre, 4));
            pre = _mm256_add_epi8(pre, _mm256_slli_si256(pre, 8));
            __m256i low = _mm256_min_epi8(pre, _mm256_srli_si256(pre, 8));
            low = _mm256_min_epi8(low, _mm256_srli_si256(low, 4));
            low = _mm256_min_epi8(low, _mm256_srli_si256(low, 2));
            // Per half: word 0 the minima (even, odd), word 7 the last pair of P.
            __m256i ends = _mm256_blend_epi16(low, pre, 0x80);
            __m128i ends0 = _mm256_castsi256_si128(ends), ends1 = _mm256_extracti128_si256(ends, 1);
            __m128i last0 = _mm_cvtepi8_epi64(_mm_srli_si128(ends0, 14));
            __m128i mid = _mm_add_epi64(base, last0);  // runs m+14, m+15
            __m128i next = _mm_add_epi64(mid, _mm_cvtepi8_epi64(_mm_srli_si128(ends1, 14)));
            __m128i flags = _mm_or_si128(_mm_add_epi64(base, _mm_cvtepi8_epi64(ends0)),
                                         _mm_add_epi64(mid, _mm_cvtepi8_epi64(ends1)));
            flags = _mm_or_si128(flags, _mm_cmpgt_epi64(base, max_wide_base));
            if (_mm_movemask_pd(_mm_castsi128_pd(flags))) break;
            prefix_wide_ = _mm256_add_epi64(prefix_wide_, _mm256_sad_epu8(_mm256_xor_si256(pre, w128), zero256));
            biased_ += 32;
            // The bases' share of the sum: 16 runs on `base` and 8 more on `last0`.
            base_total_ = _mm_add_epi64(base_total_, _mm_add_epi64(_mm_slli_epi64(base, 4), _mm_slli_epi64(last0, 3)));
            if constexpr (kStore) store_wide(base, mid, pre);
            base = next;
            p_ += 32;
            m_ += 32;
        }
        before_previous_ = _mm_cvtsi128_si64(base);
        previous_ = _mm_extract_epi64(base, 1);
    }

    CHICKENSEG_RLE_STEP void store_wide(__m128i base, __m128i mid, __m256i pre) {
        __m256i base0 = _mm256_broadcastsi128_si256(_mm_shuffle_epi32(base, 0x88));
        __m256i base1 = _mm256_broadcastsi128_si256(_mm_shuffle_epi32(mid, 0x88));
        __m128i pre0 = _mm256_castsi256_si128(pre), pre1 = _mm256_extracti128_si256(pre, 1);
        auto* o = reinterpret_cast<__m256i*>(out_ + m_);
        _mm256_storeu_si256(o, _mm256_add_epi32(base0, _mm256_cvtepi8_epi32(pre0)));
        _mm256_storeu_si256(o + 1, _mm256_add_epi32(base0, _mm256_cvtepi8_epi32(_mm_srli_si128(pre0, 8))));
        _mm256_storeu_si256(o + 2, _mm256_add_epi32(base1, _mm256_cvtepi8_epi32(pre1)));
        _mm256_storeu_si256(o + 3, _mm256_add_epi32(base1, _mm256_cvtepi8_epi32(_mm_srli_si128(pre1, 8))));
    }

    // The block's leading k one-character values (k = 16: all of them).
    CHICKENSEG_RLE_STEP bool block(__m128i c, int k) {
        const __m128i k16 = _mm_set1_epi8(16), k127 = _mm_set1_epi8(127), k128 = _mm_set1_epi8(-128);
        __m128i d = _mm_sub_epi8(_mm_xor_si128(c, k16), k16);  // sign-extend 5 bits
        __m128i pre = _mm_add_epi8(d, _mm_slli_si128(d, 2));
        pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 4));
        pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 8));
        // Lanes from k on hold garbage: they are masked out of the minimum and the sum, and
        // their stores land where later runs (or the slack) go.
        __m128i keep = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLeadingLanes + 16 - k));
        __m128i low = _mm_blendv_epi8(k127, pre, keep);
        low = _mm_min_epi8(low, _mm_srli_si128(low, 8));
        low = _mm_min_epi8(low, _mm_srli_si128(low, 4));
        low = _mm_min_epi8(low, _mm_srli_si128(low, 2));
        int mins = _mm_extract_epi16(low, 0);
        if (((before_previous_ + static_cast<int8_t>(mins)) | (previous_ + static_cast<int8_t>(mins >> 8))) < 0)
            return false;
        prefix_total_ = _mm_add_epi64(prefix_total_,
                                      _mm_sad_epu8(_mm_and_si128(_mm_xor_si128(pre, k128), keep), _mm_setzero_si128()));
        biased_ += static_cast<unsigned>(k);
        total_ += static_cast<uint64_t>((k + 1) / 2 * before_previous_ + k / 2 * previous_);
        if constexpr (kStore) store_block(pre);
        advance_bases(pre, k);
        p_ += k;
        m_ += static_cast<size_t>(k);
        return true;
    }

    // The bases fit 32 bits and the runs passed the checks, so wrapping 32-bit arithmetic
    // gives the exact runs.
    CHICKENSEG_RLE_STEP void store_block(__m128i pre) {
        __m128i base = _mm_set_epi32(static_cast<int>(previous_), static_cast<int>(before_previous_),
                                     static_cast<int>(previous_), static_cast<int>(before_previous_));
        auto* o = reinterpret_cast<__m128i*>(out_ + m_);
        _mm_storeu_si128(o, _mm_add_epi32(base, _mm_cvtepi8_epi32(pre)));
        _mm_storeu_si128(o + 1, _mm_add_epi32(base, _mm_cvtepi8_epi32(_mm_srli_si128(pre, 4))));
        _mm_storeu_si128(o + 2, _mm_add_epi32(base, _mm_cvtepi8_epi32(_mm_srli_si128(pre, 8))));
        _mm_storeu_si128(o + 3, _mm_add_epi32(base, _mm_cvtepi8_epi32(_mm_srli_si128(pre, 12))));
    }

    // The new runs m+k-2 and m+k-1: P at lanes k-2 and k-1 (index -2 or -1 reads 0 through
    // pshufb's bit 7) on the base of that lane's parity.
    CHICKENSEG_RLE_STEP void advance_bases(__m128i pre, int k) {
        int last;
        if (k == 16) {
            last = _mm_extract_epi16(pre, 7);
        } else {
            int idx = ((k - 2) & 0xFF) | (((k - 1) & 0xFF) << 8);
            last = _mm_extract_epi16(_mm_shuffle_epi8(pre, _mm_set1_epi16(static_cast<short>(idx))), 0);
        }
        int64_t even = before_previous_, odd = previous_;
        if (k & 1) std::swap(even, odd);
        before_previous_ = even + static_cast<int8_t>(last);
        previous_ = odd + static_cast<int8_t>(last >> 8);
    }

    // The value at lane k: continuation characters (32..63) up to a terminating lane t.
    CHICKENSEG_RLE_STEP bool value_at_lane(__m128i c, unsigned multi, int k) {
        unsigned invalid = static_cast<unsigned>(_mm_movemask_epi8(_mm_adds_epu8(c, _mm_set1_epi8(64))));  // c >= 64
        unsigned continues = multi & ~invalid;
        unsigned t = static_cast<unsigned>(__builtin_ctz(~continues & (~0u << k)));
        unsigned len = t - static_cast<unsigned>(k) + 1;
        if (t >= 16 || len > 7 || ((invalid >> t) & 1)) return scalar_value();
        // Gather the 5-bit groups of lanes k..k+7: pairs, then quads, then the two 20-bit
        // halves; bits past the value's 5 * len are shifted out below.
        __m128i g = _mm_and_si128(
            _mm_shuffle_epi8(c, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLaneShift + k))), _mm_set1_epi8(31));
        g = _mm_madd_epi16(_mm_maddubs_epi16(g, _mm_set1_epi16(1 | 32 << 8)), _mm_set1_epi32(1 | 1024 << 16));
        auto halves = static_cast<uint64_t>(_mm_cvtsi128_si64(g));
        uint64_t acc = (halves & 0xFFFFFFFFu) | (halves >> 32 << 20);
        unsigned shift = 64 - 5 * len;
        int64_t v = static_cast<int64_t>(acc << shift) >> shift;  // sign-extend from the last group's bit 4
        p_ += len;
        return add_run(v);
    }

    const unsigned char* begin_;
    const unsigned char* end_;
    const unsigned char* p_;
    uint32_t* out_;
    int64_t previous_ = 0, before_previous_ = 0;  // runs m-1 and m-2
    size_t m_ = 0;
    uint64_t total_ = 0;
    // The sum of P over all blocks, as psadbw sums of P + 128 (two 64-bit lanes); `biased_`
    // counts the lanes, to take the 128s off at the end.
    __m128i prefix_total_;
    uint64_t biased_ = 0;
    size_t scalar_chars_ = 0;
    __m256i prefix_wide_;  // like prefix_total_, for the wide loop
    __m128i base_total_;   // the wide loop's bases' share of the sum
};

template <bool kStore>
CHICKENSEG_RLE_TARGET bool decode_counts_avx2(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum,
                                              size_t& block_chars) {
    CountsDecoderAvx2<kStore> decoder(counts, out);
    if (!decoder.run()) return false;
    decoder.finish(runs, sum, block_chars);
    return true;
}

CHICKENSEG_RLE_TARGET size_t count_runs_avx2(std::string_view counts) {
    const auto* p = reinterpret_cast<const unsigned char*>(counts.data());
    const auto* end = p + counts.size();
    const __m128i k48 = _mm_set1_epi8(48), k32 = _mm_set1_epi8(32);
    size_t continues = 0;
    for (; end - p >= 16; p += 16) {
        __m128i c = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), k48);
        continues += static_cast<size_t>(
            __builtin_popcount(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(c, k32), k32)))));
    }
    size_t runs = counts.size() - continues;
    for (; p < end; ++p) runs -= !ends_run(*p);
    return runs;
}

bool detect_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"); }

bool simd_available() {
    static const bool available = detect_avx2();
    return available;
}

template bool decode_counts_avx2<true>(std::string_view, uint32_t*, size_t&, uint64_t&, size_t&);
template bool decode_counts_avx2<false>(std::string_view, uint32_t*, size_t&, uint64_t&, size_t&);
#else
bool simd_available() { return false; }
#endif

}  // namespace chickenseg::rle_internal
