// safetensors reading and writing: a round trip, the byte layout of the reference format, and
// one test per kind of bad file, checking the error names the file, the field and what was
// expected. (tests/python/test_runtime_package.py cross-checks files with Python's safetensors.)
#include "chickenseg/runtime/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "test_support.h"

namespace chickenseg {
namespace {

// A file as the format describes it: length field, header text, data.
std::string make_file(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + data;
}

Error parse_error(const std::string& bytes) {
    try {
        parse_safetensors(bytes, "t.safetensors");
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error("none");
}

HostTensor floats(std::vector<int64_t> shape, float start) {
    HostTensor t = make_host_tensor(DType::float32, std::move(shape));
    float v = start;
    for (float& x : t.values<float>()) x = v++;
    return t;
}

TEST(Safetensors, RoundTripKeepsTensorsOrderAndMetadata) {
    test::TempDir dir;
    SafetensorsFile f;
    f.tensors.push_back({"z.features", floats({1, 2, 3}, 0.5f)});
    HostTensor mask = make_host_tensor(DType::int64, {1, 4});
    mask.values<int64_t>()[1] = -7;
    f.tensors.push_back({"a.mask", mask});
    f.tensors.push_back({"empty", make_host_tensor(DType::uint8, {0, 3})});
    f.metadata = {{"prompts", R"(["chicken"])"}};
    write_safetensors(dir / "x.safetensors", f);

    SafetensorsFile back = read_safetensors(dir / "x.safetensors");
    ASSERT_EQ(back.tensors.size(), 3u);
    EXPECT_EQ(back.tensors[0].name, "z.features");  // data-section order = written order
    EXPECT_EQ(back.tensors[1].name, "a.mask");
    EXPECT_EQ(back.tensors[0].tensor.shape, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(back.tensors[0].tensor.bytes, f.tensors[0].tensor.bytes);
    EXPECT_EQ(back.require("a.mask", "x").values<int64_t>()[1], -7);
    EXPECT_EQ(back.find("empty")->numel(), 0);
    EXPECT_EQ(back.metadata, f.metadata);
}

TEST(Safetensors, HeaderIsPaddedSoTheDataIsAligned) {
    SafetensorsFile f;
    f.tensors.push_back({"a", floats({3}, 1.0f)});
    std::string bytes = encode_safetensors(f);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(bytes.size(), 8 + n + 12);
    EXPECT_EQ(bytes.substr(8, 1), "{");
    float first = 0;
    std::memcpy(&first, bytes.data() + 8 + n, 4);
    EXPECT_EQ(first, 1.0f);
}

TEST(Safetensors, ReadsTheReferenceLayout) {
    // As Python's safetensors writes it: keys in any order, spaces after the JSON.
    std::string data(8, '\0');
    int32_t a[2] = {3, -4};
    std::memcpy(data.data(), a, 8);
    std::string bytes =
        make_file(R"({"__metadata__":{"k":"v"},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}  )", data);
    SafetensorsFile f = parse_safetensors(bytes, "t");
    ASSERT_EQ(f.tensors.size(), 1u);
    EXPECT_EQ(f.tensors[0].tensor.values<int32_t>()[1], -4);
    EXPECT_EQ(f.metadata.at("k"), "v");
}

TEST(Safetensors, TruncatedFilesSaySoAndHowMuchIsMissing) {
    SafetensorsFile f;
    f.tensors.push_back({"a", floats({4}, 0)});
    std::string bytes = encode_safetensors(f);

    Error e = parse_error(bytes.substr(0, bytes.size() - 3));
    EXPECT_EQ(e.place().file, "t.safetensors");
    EXPECT_NE(e.message().find("truncated: the tensors need 16 bytes of data, the file holds 13"), std::string::npos)
        << e.what();
    EXPECT_NE(e.message().find("expected " + std::to_string(bytes.size())), std::string::npos) << e.what();

    e = parse_error(bytes.substr(0, 20));
    EXPECT_NE(e.message().find("truncated: the header needs"), std::string::npos) << e.what();
    e = parse_error(bytes.substr(0, 5));
    EXPECT_NE(e.message().find("truncated: 5 bytes"), std::string::npos) << e.what();
}

TEST(Safetensors, ReadFileErrorsNameThePath) {
    test::TempDir dir;
    write_file_atomic(dir / "cut.safetensors", std::string("\x10\0\0\0", 4));
    try {
        read_safetensors(dir / "cut.safetensors");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, dir / "cut.safetensors");
        EXPECT_NE(e.message().find("truncated"), std::string::npos);
    }
}

struct BadHeader {
    const char* header;
    std::string data;
    const char* field;
    const char* message;
};

class SafetensorsBadHeader : public ::testing::TestWithParam<BadHeader> {};

TEST_P(SafetensorsBadHeader, NamesFieldAndExpectation) {
    const BadHeader& c = GetParam();
    Error e = parse_error(make_file(c.header, c.data));
    EXPECT_EQ(e.place().file, "t.safetensors");
    EXPECT_EQ(e.place().field, c.field) << e.what();
    EXPECT_NE(e.message().find(c.message), std::string::npos) << e.what();
}

const std::string k8(8, '\0');

INSTANTIATE_TEST_SUITE_P(
    Cases, SafetensorsBadHeader,
    ::testing::Values(
        BadHeader{R"([1, 2])", "", "header", "start with '{'"},
        BadHeader{R"({"a": )", "", "header", "malformed JSON header"},
        BadHeader{R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", k8, R"(header["a"].dtype)",
                  "expected one of BOOL, U8"},
        BadHeader{R"({"a":{"shape":[2],"data_offsets":[0,8]}})", k8, R"(header["a"].dtype)", "missing required field"},
        BadHeader{R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", k8, R"(header["a"].shape)",
                  "missing required field"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", k8, R"(header["a"].shape)",
                  "non-negative integer dimensions"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[2]}})", k8, R"(header["a"].data_offsets)", "missing required field"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", k8, R"(header["a"].data_offsets)",
                  "expected [begin, end]"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", k8, R"(header["a"].data_offsets)",
                  "begin <= end"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", k8, R"(header["a"].data_offsets)",
                  "needs 12 bytes"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[9999999999,9999999999],"data_offsets":[0,8]}})", k8,
                  R"(header["a"].shape)", "more elements than fit"},
        BadHeader{R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", k8, R"(header["a"].data_offsets)",
                  "start at 4, expected 0"},
        BadHeader{
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            k8, R"(header["b"].data_offsets)", "without gap or overlap"},
        BadHeader{R"({"a":[1]})", k8, R"(header["a"])", "expected an object"},
        BadHeader{R"({"__metadata__":{"k":1}})", "", R"(header["__metadata__"].k)", "expected a string value"}));

TEST(Safetensors, BytesAfterTheLastTensorAreRefused) {
    Error e = parse_error(make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "abc"));
    EXPECT_NE(e.message().find("1 bytes after the last tensor's data"), std::string::npos) << e.what();
}

TEST(Safetensors, HugeHeaderLengthIsNotAllocated) {
    std::string bytes(16, '\0');
    uint64_t n = kSafetensorsMaxHeaderBytes + 1;
    std::memcpy(bytes.data(), &n, 8);
    Error e = parse_error(bytes);
    EXPECT_NE(e.message().find("expected at most"), std::string::npos) << e.what();
}

TEST(Safetensors, WriterRefusesInconsistentTensors) {
    test::TempDir dir;
    SafetensorsFile f;
    HostTensor t = floats({2}, 0);
    t.shape = {3};
    f.tensors.push_back({"a", t});
    try {
        write_safetensors(dir / "o.safetensors", f);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, dir / "o.safetensors");
        EXPECT_EQ(e.place().field, R"(tensors["a"])");
        EXPECT_NE(e.message().find("needs 12 bytes, the tensor holds 8"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "o.safetensors"));

    SafetensorsFile dup;
    dup.tensors = {{"a", floats({1}, 0)}, {"a", floats({1}, 0)}};
    EXPECT_THROW(encode_safetensors(dup), Error);
    SafetensorsFile meta;
    meta.tensors = {{"__metadata__", floats({1}, 0)}};
    EXPECT_THROW(encode_safetensors(meta), Error);
}

TEST(Safetensors, RequireListsWhatTheFileHolds) {
    SafetensorsFile f;
    f.tensors = {{"x", floats({1}, 0)}, {"y", floats({1}, 0)}};
    try {
        f.require("pixel_values", "in.safetensors");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "in.safetensors");
        EXPECT_NE(e.message().find("no tensor named \"pixel_values\" (the file holds: x, y)"), std::string::npos)
            << e.what();
    }
}

TEST(HostTensor, TypedAccessChecksTheDtype) {
    HostTensor t = floats({2}, 0);
    EXPECT_THROW(t.values<int64_t>(), Error);
    EXPECT_EQ(t.values<float>().size(), 2u);
    EXPECT_EQ(shape_string(t.shape), "(2)");
    EXPECT_EQ(dtype_from_name("BF16"), DType::bfloat16);
    EXPECT_FALSE(dtype_from_name("F8_E4M3"));
}

}  // namespace
}  // namespace chickenseg
