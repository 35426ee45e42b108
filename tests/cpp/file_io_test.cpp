// Whole-file reading: the mapped view equals what read_file returns, also for the
// cases mmap cannot serve (an empty file), and a missing file names its path.
#include "chickenseg/core/file_io.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <vector>

#include "chickenseg/core/error.h"
#include "test_support.h"

namespace chickenseg {
namespace {

TEST(MappedFile, ViewEqualsTheFileContent) {
    test::TempDir dir;
    std::string content(100000, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
    write_file_atomic(dir.path / "a.bin", content);
    MappedFile mapped(dir.path / "a.bin");
    EXPECT_EQ(mapped.view(), content);
    EXPECT_EQ(mapped.view(), read_file(dir.path / "a.bin"));
}

TEST(MappedFile, EmptyFileGivesAnEmptyView) {
    test::TempDir dir;
    write_file_atomic(dir.path / "empty.json", "");
    MappedFile mapped(dir.path / "empty.json");
    EXPECT_TRUE(mapped.view().empty());
}

TEST(MappedFile, MissingFileNamesThePath) {
    test::TempDir dir;
    try {
        MappedFile mapped(dir.path / "missing.json");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("cannot open file"), std::string::npos) << e.what();
    }
}

TEST(ReadFile, AFolderIsNamedNotAnAllocationFailure) {
    test::TempDir dir;
    for (int mapped = 0; mapped < 2; ++mapped) {
        try {
            if (mapped)
                MappedFile m(dir.path);
            else
                read_file(dir.path);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()), dir.path.string() + ": is a folder, expected a file");
        }
    }
}

TEST(PathInsideRoot, RelativeNamesThatStayInsideOnly) {
    namespace fs = std::filesystem;
    const fs::path root = "/data/images";
    EXPECT_EQ(path_inside_root(root, "a.png"), root / "a.png");
    EXPECT_EQ(path_inside_root(root, "pen/a.png"), root / "pen/a.png");
    EXPECT_TRUE(path_inside_root(root, "pen/../a.png"));  // climbs back in: still inside
    for (const char* outside : {"/etc/passwd", "../secret.txt", "pen/../../x", "..", ".", ""})
        EXPECT_FALSE(path_inside_root(root, outside)) << outside;
    EXPECT_TRUE(path_inside_root(".", "a.png"));
    EXPECT_FALSE(path_inside_root(".", "../a.png"));
}

// A pid no process has now: a child that has exited and been reaped.
pid_t dead_pid() {
    pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
}

TEST(WriteFileAtomic, TemporariesLeftByAKilledWriterAreRemoved) {
    namespace fs = std::filesystem;
    test::TempDir dir;
    const auto old = fs::file_time_type::clock::now() - std::chrono::seconds(kStaleTemporaryAgeSeconds + 60);
    const std::string dead = std::to_string(dead_pid());
    // Made elsewhere and moved in: "sub" is cleaned on this process's first write into it.
    test::TempDir stage;
    fs::create_directories(dir.path / "sub");
    for (const auto& [name, is_old] : std::vector<std::pair<std::string, bool>>{
             {"out.json.tmp." + dead + ".123", true},                       // a killed writer's: removed
             {"a.png.tmp." + dead + ".9", true},                            // of another target: removed too
             {"fresh.json.tmp." + dead + ".7", false},                      // too recent: kept
             {"mine.json.tmp." + std::to_string(::getpid()) + ".1", true},  // a live process: kept
             {"notes.tmp.x.1", true},                                       // not our pattern: kept
             {"report.tmp", true}}) {                                       // not our pattern: kept
        write_file_atomic(stage.path / name, "x");
        fs::rename(stage.path / name, dir.path / "sub" / name);
        if (is_old) fs::last_write_time(dir.path / "sub" / name, old);
    }
    write_file_atomic(dir.path / "sub" / "out.json", "{}");
    std::set<std::string> left;
    for (const auto& e : fs::directory_iterator(dir.path / "sub")) left.insert(e.path().filename().string());
    EXPECT_EQ(left, (std::set<std::string>{"out.json", "fresh.json.tmp." + dead + ".7",
                                           "mine.json.tmp." + std::to_string(::getpid()) + ".1", "notes.tmp.x.1",
                                           "report.tmp"}));
}

TEST(WriteFilesAtomic, AFailureChangesNoTarget) {
    // The second target's folder cannot be made (its parent is a file): the first target,
    // already staged, must keep its old content and no temporary file may be left.
    test::TempDir dir;
    write_file_atomic(dir.path / "train.json", "old train");
    write_file_atomic(dir.path / "blocker", "a file, not a folder");
    const FileContent files[] = {{dir.path / "train.json", "new train"},
                                 {dir.path / "blocker" / "val.json", "new val"}};
    try {
        write_files_atomic(files);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("blocker"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(dir.path / "train.json"), "old train");
    size_t entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
        (void)entry;
        ++entries;
    }
    EXPECT_EQ(entries, 2u);  // train.json and blocker: no temporary left behind
}

TEST(WriteFilesAtomic, WritesEveryFile) {
    test::TempDir dir;
    const FileContent files[] = {{dir.path / "a.json", "A"}, {dir.path / "sub" / "b.json", "B"}};
    write_files_atomic(files);
    EXPECT_EQ(read_file(dir.path / "a.json"), "A");
    EXPECT_EQ(read_file(dir.path / "sub" / "b.json"), "B");
}

}  // namespace
}  // namespace chickenseg
