#include "chickenseg/core/sha256.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "chickenseg/core/error.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CHICKENSEG_SHA256_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace chickenseg {

namespace {

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube
// roots of the first 64 primes.
constexpr std::array<uint32_t, 64> kRoundConstants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square
// roots of the first 8 primes.
constexpr std::array<uint32_t, 8> kInitialState = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

uint32_t load_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// FIPS 180-4 §6.2.2, portable: one 512-bit block at a time.
void compress_portable(std::array<uint32_t, 8>& state, const uint8_t* block) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; ++t) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; ++t) {
        uint32_t big_sigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + big_sigma1 + choose + kRoundConstants[t] + w[t];
        uint32_t big_sigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_sigma0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

#ifdef CHICKENSEG_SHA256_HAVE_SHANI
// The same compression with the x86 SHA extensions. The target attribute
// enables the instructions for this function only, so the binary still runs on
// CPUs without them; sha256_shani_available() gates every call. SHA256RNDS2
// keeps the state as two registers {A,B,E,F} and {C,D,G,H} and does two rounds
// per instruction; SHA256MSG1/MSG2 compute the message schedule four words at a
// time (W[t-16] + s0(W[t-15]) and + s1(W[t-2]); the W[t-7] term is added
// between them).
__attribute__((target("sha,sse4.1,ssse3"))) void compress_shani(std::array<uint32_t, 8>& state, const uint8_t* blocks,
                                                                size_t count) {
    // Byte swap of each 32-bit word: the message words are big-endian.
    const __m128i kByteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0]));
    __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4]));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    for (size_t n = 0; n < count; ++n, blocks += 64) {
        const __m128i abef_in = abef;
        const __m128i cdgh_in = cdgh;
        __m128i w[16];  // message schedule, four words per entry
        for (int i = 0; i < 16; ++i) {
            if (i < 4) {
                w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + 16 * i)), kByteSwap);
            } else {
                __m128i x = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
                w[i] = _mm_sha256msg2_epu32(x, w[i - 1]);
            }
            __m128i wk =
                _mm_add_epi32(w[i], _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kRoundConstants[4 * i])));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), dcba);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), hgfe);
}

bool detect_shani() {
    // SHA256 round/schedule instructions plus the SSSE3/SSE4.1 shuffles used around them. Read
    // from CPUID directly: clang 14's __builtin_cpu_supports does not know "sha".
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool ssse3 = c & bit_SSSE3, sse41 = c & bit_SSE4_1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return ssse3 && sse41 && (b & bit_SHA);
}
#endif

}  // namespace

bool sha256_shani_available() {
#ifdef CHICKENSEG_SHA256_HAVE_SHANI
    static const bool available = detect_shani();
    return available;
#else
    return false;
#endif
}

Sha256::Sha256() : Sha256(Sha256Backend::kAuto) {}

Sha256::Sha256(Sha256Backend backend) {
    switch (backend) {
        case Sha256Backend::kAuto:
            use_shani_ = sha256_shani_available();
            break;
        case Sha256Backend::kPortable:
            use_shani_ = false;
            break;
        case Sha256Backend::kShaNi:
            if (!sha256_shani_available())
                throw Error("Sha256: the SHA-NI backend was requested but this CPU or build lacks it");
            use_shani_ = true;
            break;
    }
    reset();
}

void Sha256::reset() {
    state_ = kInitialState;
    block_used_ = 0;
    total_bytes_ = 0;
    finished_ = false;
}

void Sha256::compress(const uint8_t* blocks, size_t count) {
#ifdef CHICKENSEG_SHA256_HAVE_SHANI
    if (use_shani_) {
        compress_shani(state_, blocks, count);
        return;
    }
#endif
    for (size_t n = 0; n < count; ++n) compress_portable(state_, blocks + 64 * n);
}

void Sha256::update(std::span<const uint8_t> bytes) {
    if (finished_) throw Error("Sha256::update called after finish() without reset()");
    const uint8_t* p = bytes.data();
    size_t left = bytes.size();
    total_bytes_ += left;
    if (block_used_ > 0) {
        size_t take = std::min(left, block_.size() - block_used_);
        std::memcpy(block_.data() + block_used_, p, take);
        block_used_ += take;
        p += take;
        left -= take;
        if (block_used_ < block_.size()) return;
        compress(block_.data(), 1);
        block_used_ = 0;
    }
    // Whole blocks straight from the input, no copy.
    if (left >= 64) {
        size_t whole = left / 64;
        compress(p, whole);
        p += whole * 64;
        left -= whole * 64;
    }
    if (left > 0) {
        std::memcpy(block_.data(), p, left);
        block_used_ = left;
    }
}

void Sha256::update(std::string_view bytes) {
    update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

Sha256Digest Sha256::finish() {
    if (finished_) throw Error("Sha256::finish called twice without reset()");
    // FIPS 180-4 §5.1.1: a 1 bit, zeros to 448 mod 512, then the length in bits (64-bit BE).
    uint64_t bit_length = total_bytes_ * 8;
    block_[block_used_++] = 0x80;
    if (block_used_ > 56) {
        std::memset(block_.data() + block_used_, 0, 64 - block_used_);
        compress(block_.data(), 1);
        block_used_ = 0;
    }
    std::memset(block_.data() + block_used_, 0, 56 - block_used_);
    for (int i = 0; i < 8; ++i) block_[56 + i] = static_cast<uint8_t>(bit_length >> (56 - 8 * i));
    compress(block_.data(), 1);
    block_used_ = 0;
    finished_ = true;

    Sha256Digest digest;
    for (int i = 0; i < 8; ++i) {
        digest[4 * i] = static_cast<uint8_t>(state_[i] >> 24);
        digest[4 * i + 1] = static_cast<uint8_t>(state_[i] >> 16);
        digest[4 * i + 2] = static_cast<uint8_t>(state_[i] >> 8);
        digest[4 * i + 3] = static_cast<uint8_t>(state_[i]);
    }
    return digest;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    static const char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 hasher;
    hasher.update(bytes);
    return to_hex(hasher.finish());
}

std::string sha256_file_hex(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(std::string("cannot open file: ") + std::strerror(errno), path.string());
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw Error("is a folder, expected a file", path.string());
    }
    Sha256 hasher;
    // 1 MiB blocks: large enough that the read calls cost nothing next to the hashing.
    std::vector<uint8_t> buffer(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            throw Error(std::string("read failed: ") + std::strerror(err), path.string());
        }
        if (n == 0) break;
        hasher.update(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
    }
    ::close(fd);
    return to_hex(hasher.finish());
}

}  // namespace chickenseg
