// What the tool hands the Python side (`model`, `train`): its own path as CHICKENSEG_BIN (training's
// validation runs `chickenseg eval` with the same build) and --quiet / --json as CHICKENSEG_QUIET.
// CHICKENSEG_PYTHON names a stand-in interpreter that writes the environment it was given.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cli_support.h"

namespace chickenseg::test {
namespace {

namespace fs = std::filesystem;

struct FakePython {
    TempDir dir;
    fs::path script = dir.path / "python";
    fs::path seen = dir.path / "env.txt";
    FakePython() {
        std::ofstream(script) << "#!/bin/sh\nenv > " << shell_quote(seen.string()) << "\n";
        ::chmod(script.c_str(), 0755);
    }
    std::string env_prefix(const std::string& more = "") const {
        return "env -u CHICKENSEG_BIN -u CHICKENSEG_QUIET CHICKENSEG_PYTHON=" + shell_quote(script.string()) + " " +
               more;
    }
    std::string environment() const { return read_file(seen); }
};

std::string line_of(const std::string& env, const std::string& name) {
    const std::string key = name + "=";
    size_t at = env.rfind("\n" + key);
    if (at != std::string::npos)
        ++at;
    else if (env.rfind(key, 0) == 0)
        at = 0;
    else
        return "";
    return env.substr(at, env.find('\n', at) - at);
}

TEST(CliPythonBoundary, TheChildKnowsThisBinaryAndThatItIsQuiet) {
    FakePython py;
    CliResult r = run_chickenseg("--quiet model info --model tiny", Stderr::Merge, py.env_prefix());
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string env = py.environment();
    EXPECT_EQ(line_of(env, "CHICKENSEG_BIN"), "CHICKENSEG_BIN=" + fs::canonical(CHICKENSEG_BINARY).string()) << env;
    EXPECT_EQ(line_of(env, "CHICKENSEG_QUIET"), "CHICKENSEG_QUIET=1") << env;
}

TEST(CliPythonBoundary, JsonIsQuietToo) {
    FakePython py;
    ASSERT_EQ(run_chickenseg("--json model info --model tiny", Stderr::Merge, py.env_prefix()).code, 0);
    EXPECT_EQ(line_of(py.environment(), "CHICKENSEG_QUIET"), "CHICKENSEG_QUIET=1");
}

TEST(CliPythonBoundary, WithoutQuietTheChildShowsProgressAndAnExplicitBinaryIsKept) {
    FakePython py;
    ASSERT_EQ(run_chickenseg("model info --model tiny", Stderr::Merge, py.env_prefix("CHICKENSEG_BIN=/opt/other")).code,
              0);
    const std::string env = py.environment();
    EXPECT_EQ(line_of(env, "CHICKENSEG_QUIET"), "") << env;
    EXPECT_EQ(line_of(env, "CHICKENSEG_BIN"), "CHICKENSEG_BIN=/opt/other") << env;
}

}  // namespace
}  // namespace chickenseg::test
