// JSON Lines written line by line and read back as a stream, a kill's cut-off last line dropped.
#include "chickenseg/core/jsonl_file.h"

#include <gtest/gtest.h>

#include "chickenseg/core/error.h"
#include "test_support.h"

namespace chickenseg {
namespace {

TEST(JsonlFile, WriteReadAppendAndCutOffLine) {
    test::TempDir dir;
    const auto path = dir.path / "a.jsonl";
    {
        JsonlWriter w(path, false);
        w.write({{"i", 1}});
        w.write({{"i", 2}});
    }
    std::vector<int> seen;
    auto visit = [&](const json& j, long line) {
        seen.push_back(j.at("i").get<int>());
        EXPECT_EQ(line, static_cast<long>(seen.size()));
    };
    EXPECT_EQ(read_jsonl_file(path, visit, true), 2u);
    EXPECT_EQ(seen, (std::vector<int>{1, 2}));

    // A kill while writing line 3: half a line without its newline.
    write_file_atomic(path, read_file(path) + "{\"i\": 3, \"trunc");
    seen.clear();
    EXPECT_EQ(read_jsonl_file(path, visit, /*cut_partial=*/false), 2u);
    EXPECT_EQ(std::filesystem::file_size(path), 16u + 15u);  // untouched
    seen.clear();
    EXPECT_EQ(read_jsonl_file(path, visit, /*cut_partial=*/true), 2u);
    EXPECT_EQ(read_file(path), "{\"i\":1}\n{\"i\":2}\n");
    {
        JsonlWriter w(path, true);
        w.write({{"i", 3}});
    }
    seen.clear();
    read_jsonl_file(path, visit, true);
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));

    // Missing: nothing. Not JSON: an error naming the line.
    EXPECT_EQ(read_jsonl_file(dir.path / "none.jsonl", visit, true), 0u);
    write_file_atomic(path, "{\"i\":1}\nnot json\n");
    try {
        read_jsonl_file(
            path, [](const json&, long) {}, true);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("a.jsonl:2"), std::string::npos) << e.what();
    }
    EXPECT_THROW(JsonlWriter(dir.path / "no" / "such" / "x.jsonl", false), Error);
}

}  // namespace
}  // namespace chickenseg
