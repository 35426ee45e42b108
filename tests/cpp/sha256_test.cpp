#include "chickenseg/core/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;

// Bytes i*7 mod 256: exercises every padding case around the 64-byte block.
std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 % 256);
    return s;
}

TEST(Sha256, FipsExamples) {
    // FIPS 180-4 / NIST CSRC example vectors.
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                         "nopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundariesMatchHashlib) {
    // Expected values from Python: hashlib.sha256(bytes(i*7%256 for i in range(n))).hexdigest()
    const std::vector<std::pair<size_t, std::string>> cases = {
        {55, "576a1bf8d4478657e6dc4af9398544765c2a92cde28478b019235cfed315fc09"},
        {56, "9b20501dfd1d99161c257950f3444f3e49230c351c5c8e0943ef369f85f5205d"},
        {63, "30b345906b493f06f69444b6521113511c242f30e29840462950035043682f1e"},
        {64, "d8bc63b4fc1156e5e7d95a418b9bf54cd3174bedbc2db40f74895349b229b3c0"},
        {65, "1ee23b0fbcaecc1aff4a9e8f1645f35ab2c8e13609cd73b68df8b5e3f63ce073"},
        {119, "7a6589821178918ca8d9edaba5abfc1e9b2669564f4469b66885379c1530b2c8"},
        {120, "655250427d56b1b0eeb8497d21428704273458a01772d6881b65c0abac0f8a98"},
        {127, "67d79933e3c9aa8e89f481e071cfca1e9a16c09d7263b5efa3bb01f1a9f8d065"},
        {128, "54c9eb041badfd7064645067b107661fed6113197ce2dd066ba69618abd3732f"},
    };
    for (const auto& [n, hex] : cases) EXPECT_EQ(sha256_hex(pattern(n)), hex) << "length " << n;
}

TEST(Sha256, StreamingInAnySplitEqualsOneShot) {
    const std::string message = pattern(200);
    const std::string whole = sha256_hex(message);
    for (size_t split1 = 0; split1 <= message.size(); split1 += 7) {
        for (size_t split2 = split1; split2 <= message.size(); split2 += 13) {
            Sha256 h;
            h.update(std::string_view(message).substr(0, split1));
            h.update(std::string_view(message).substr(split1, split2 - split1));
            h.update(std::string_view(message).substr(split2));
            ASSERT_EQ(to_hex(h.finish()), whole) << split1 << " " << split2;
        }
    }
    // Byte by byte.
    Sha256 h;
    for (char c : message) h.update(std::string_view(&c, 1));
    EXPECT_EQ(to_hex(h.finish()), whole);
}

TEST(Sha256, FinishTwiceOrUpdateAfterFinishThrowsAndResetStartsOver) {
    Sha256 h;
    h.update("abc");
    Sha256Digest first = h.finish();
    EXPECT_THROW(h.finish(), Error);
    EXPECT_THROW(h.update("x"), Error);
    h.reset();
    h.update("abc");
    EXPECT_EQ(h.finish(), first);
}

TEST(Sha256, ToHexIsLowerCaseTwoDigitsPerByte) {
    const std::vector<uint8_t> bytes = {0x00, 0x0f, 0xa0, 0xff};
    EXPECT_EQ(to_hex(bytes), "000fa0ff");
}

std::string hex_with(Sha256Backend backend, std::string_view bytes) {
    Sha256 h(backend);
    h.update(bytes);
    return to_hex(h.finish());
}

TEST(Sha256Backends, PortableMatchesKnownVectors) {
    EXPECT_EQ(hex_with(Sha256Backend::kPortable, ""),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex_with(Sha256Backend::kPortable, "abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_with(Sha256Backend::kPortable, pattern(119)),
              "7a6589821178918ca8d9edaba5abfc1e9b2669564f4469b66885379c1530b2c8");
    EXPECT_EQ(hex_with(Sha256Backend::kPortable, std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Backends, ShaNiMatchesKnownVectorsAndPortableOnEveryLength) {
    if (!sha256_shani_available()) {
        EXPECT_THROW(Sha256{Sha256Backend::kShaNi}, Error);
        GTEST_SKIP() << "this CPU has no SHA extensions; only the portable path is tested";
    }
    EXPECT_EQ(hex_with(Sha256Backend::kShaNi, ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex_with(Sha256Backend::kShaNi, "abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_with(Sha256Backend::kShaNi, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex_with(Sha256Backend::kShaNi, std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    EXPECT_EQ(hex_with(Sha256Backend::kShaNi, pattern(128)),
              "54c9eb041badfd7064645067b107661fed6113197ce2dd066ba69618abd3732f");

    // Random bytes: every length 0..300 (all padding cases over several blocks),
    // then random lengths up to 10000, each hashed whole and in two random pieces.
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> length(0, 10000);
    for (int trial = 0; trial < 600; ++trial) {
        size_t n = trial <= 300 ? static_cast<size_t>(trial) : length(rng);
        std::string message(n, '\0');
        for (char& c : message) c = static_cast<char>(byte(rng));
        const std::string portable = hex_with(Sha256Backend::kPortable, message);
        ASSERT_EQ(hex_with(Sha256Backend::kShaNi, message), portable) << "length " << n;
        size_t split = n == 0 ? 0 : rng() % (n + 1);
        Sha256 h(Sha256Backend::kShaNi);
        h.update(std::string_view(message).substr(0, split));
        h.update(std::string_view(message).substr(split));
        ASSERT_EQ(to_hex(h.finish()), portable) << "length " << n << " split " << split;
    }
}

TEST(Sha256Backends, AutoUsesTheSameDigests) {
    for (size_t n : {0, 55, 56, 63, 64, 65, 1000}) {
        EXPECT_EQ(hex_with(Sha256Backend::kAuto, pattern(n)), hex_with(Sha256Backend::kPortable, pattern(n)))
            << "length " << n;
    }
}

class Sha256File : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("chickenseg_sha256_test_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path write(const std::string& name, const std::string& content) {
        fs::path p = dir_ / name;
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }
    fs::path dir_;
};

TEST_F(Sha256File, FileDigestEqualsBytesDigestAcrossReadBlocks) {
    // 3 MiB + 5 bytes: more than one 1 MiB read block, ending mid-block.
    std::string content = pattern(3 * 1024 * 1024 + 5);
    EXPECT_EQ(sha256_file_hex(write("big.bin", content)), sha256_hex(content));
    EXPECT_EQ(sha256_file_hex(write("empty.bin", "")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(Sha256File, MissingFileAndFolderAreErrorsNamingThePath) {
    fs::path missing = dir_ / "missing.bin";
    try {
        sha256_file_hex(missing);
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, missing.string());
        EXPECT_NE(e.message().find("cannot open"), std::string::npos) << e.what();
    }
    try {
        sha256_file_hex(dir_);
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, dir_.string());
        EXPECT_NE(e.message().find("folder"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace chickenseg
