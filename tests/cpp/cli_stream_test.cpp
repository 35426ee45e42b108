// `chickenseg stream` without a model: the parser, and the bad inputs and outputs that are
// refused with one line before the engine loads (the end-to-end runs on a tiny model are in
// tests/python/test_stream.py).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "cli_support.h"
#include "video_fixtures.h"

namespace chickenseg {
namespace {

using namespace chickenseg::test;

size_t lines(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

TEST(CliStream, HelpListsTheOptions) {
    CliResult r = run_chickenseg("stream --help");
    EXPECT_EQ(r.code, 0) << r.out;
    for (const char* flag :
         {"--package",        "--input",          "--out",          "--masks",          "--video-out", "--keyframes",
          "--keyframe-every", "--presence-band",  "--detect-every", "--detect-hz",      "--min-score", "--low-score",
          "--max-age",        "--rtsp-transport", "--timeout",      "--max-reconnects", "--backend",   "--device",
          "--threads",        "--preview",        "--early-detect", "--hwaccel"})
        EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST(CliStream, UsageErrorsExit2) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "pkg");
    const std::string base = "stream --package " + (dir / "pkg") + " --input x.mp4 --out " + (dir / "e.jsonl");
    EXPECT_EQ(run_chickenseg(base + " --detect-every 5 --detect-hz 2").code, 2);
    EXPECT_EQ(run_chickenseg(base + " --rtsp-transport sctp").code, 2);
    EXPECT_EQ(run_chickenseg(base + " --detect-every 0").code, 2);
    EXPECT_EQ(run_chickenseg("stream --input x.mp4 --out " + (dir / "e.jsonl")).code, 2);  // no --package
    // An unknown hardware decoder is a usage error naming the choices; a known one is not (it
    // falls back to software where the device is missing).
    CliResult hw = run_chickenseg(base + " --hwaccel warp9");
    EXPECT_EQ(hw.code, 2) << hw.out;
    EXPECT_NE(hw.out.find("unknown hardware decoder 'warp9' (expected auto, none"), std::string::npos) << hw.out;
}

// FFmpeg is a plugin beside the tool (stream/video_plugin.h): a tool without it (a copy of the
// binary alone here, or a build without FFmpeg) says what is missing, in one line, and where it
// looked; and the tool itself links neither FFmpeg nor an OpenMP runtime.
TEST(CliStream, WithoutTheFfmpegPluginTheToolSaysSo) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "pkg");
    std::filesystem::copy_file(CHICKENSEG_BINARY, dir.path / "chickenseg");
    const std::string args = " stream --package " + (dir / "pkg") + " --out " + (dir / "e.jsonl");
    for (const std::string& input :
         std::vector<std::string>{" --input x.mp4", " --input " + (dir / "pkg") + " --video-out " + (dir / "v.mp4")}) {
        std::string out;
        FILE* p =
            ::popen(("env -u CHICKENSEG_PLUGIN_DIR " + (dir / "chickenseg") + args + input + " 2>&1").c_str(), "r");
        std::array<char, 4096> buf;
        for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
        const int status = ::pclose(p);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << out;
        EXPECT_EQ(lines(out), 1u) << out;
        EXPECT_NE(out.find("this chickenseg has no FFmpeg (libchickenseg-ffmpeg.so was not found (looked in: " +
                           dir.path.string()),
                  std::string::npos)
            << out;
    }
    CliResult ldd = run_chickenseg("", Stderr::Merge, "ldd");  // ldd <binary>: its links
    EXPECT_EQ(ldd.code, 0) << ldd.out;
    for (const char* lib : {"libavcodec", "libavformat", "libgomp", "libblas"})
        EXPECT_EQ(ldd.out.find(lib), std::string::npos) << lib << " is linked:\n" << ldd.out;
}

#ifdef CHICKENSEG_WITH_FFMPEG
TEST(CliStream, BadInputsAreOneLineAndExit1) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "pkg");  // not a package: never opened by these
    write_file_atomic(dir.path / "notes.txt", "not a video\n");
    const std::string pkg = " --package " + (dir / "pkg") + " --out " + (dir / "e.jsonl");
    CliResult r = run_chickenseg("stream --input " + (dir / "notes.txt") + pkg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
    EXPECT_NE(r.out.find("error: " + (dir / "notes.txt") + ": not a video"), std::string::npos) << r.out;
    r = run_chickenseg("stream --input " + (dir / "none.mp4") + pkg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("none.mp4: no such file"), std::string::npos) << r.out;

    LocalHttpServer silent("", 1, /*silent=*/true);
    r = run_chickenseg("stream --timeout 1 --input " + silent.url() + pkg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(lines(r.out), 1u) << r.out;
    EXPECT_NE(r.out.find("error: " + silent.url() + ": no answer within 1 s"), std::string::npos) << r.out;
}

#endif

TEST(CliStream, OutputsAreCheckedBeforeTheSource) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "pkg");
    std::filesystem::create_directories(dir.path / "taken");
    const std::string base = "stream --package " + (dir / "pkg") + " --input " + (dir / "none.mp4");
    CliResult r = run_chickenseg(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("give at least one output"), std::string::npos) << r.out;
    r = run_chickenseg(base + " --out " + (dir / "taken"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("is a folder"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace chickenseg
