// Hostile inputs to the real binary (issue 11): each must give a clear error naming the file
// (exit 1 or 2), never a signal. One test per input that crashed or lost data before.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"
#include "cli_support.h"
#include "convert_fixtures.h"

namespace fs = std::filesystem;
using namespace chickenseg;
using chickenseg::test::CliResult;
using chickenseg::test::run_chickenseg;
using chickenseg::test::shell_args;
using chickenseg::test::Stderr;
using chickenseg::test::TempDir;

namespace {

constexpr int kDeep = 100'000;

// `[[[...0...]]]` nested `depth` deep.
std::string nested_array(int depth) { return std::string(depth, '[') + "0" + std::string(depth, ']'); }

json image(long long id, const std::string& file_name) {
    return {{"id", id},     {"file_name", file_name},  {"width", 64},
            {"height", 48}, {"text_input", "chicken"}, {"is_instance_exhaustive", 1}};
}

json annotation(long long id, long long image_id) {
    return {{"id", id},
            {"image_id", image_id},
            {"category_id", 1},
            {"segmentation", {{2, 2, 12, 2, 12, 22, 2, 22}}},
            {"bbox", {2, 2, 10, 20}},
            {"area", 200},
            {"iscrowd", 0}};
}

// `n` images (ids 1..n) in two pens, every image with one box.
json dataset(int n = 4) {
    json images = json::array(), anns = json::array();
    for (int i = 1; i <= n; ++i) {
        images.push_back(image(i, (i % 2 ? "penA/" : "penB/") + std::to_string(i) + ".jpg"));
        anns.push_back(annotation(i, i));
    }
    return {{"images", images}, {"annotations", anns}, {"categories", {{{"id", 1}, {"name", "chicken"}}}}};
}

// The dataset's text with the first box's value replaced by `value`.
std::string with_first_bbox(const std::string& value) {
    std::string text = dataset().dump();
    std::string box = "\"bbox\":[2,2,10,20]";
    text.replace(text.find(box), box.size(), "\"bbox\":" + value);
    return text;
}

void expect_clear_error(const CliResult& r, const std::string& file, const std::string& what) {
    EXPECT_EQ(r.code, 1) << r.out;  // -1: killed by a signal
    EXPECT_NE(r.out.find(file), std::string::npos) << r.out.substr(0, 2000);
    EXPECT_NE(r.out.find(what), std::string::npos) << r.out.substr(0, 2000);
    EXPECT_LT(r.out.size(), 4000u) << "the message should not echo the input";
}

}  // namespace

// --------------------------------------------------------------- deeply nested JSON

TEST(CliHostile, DeeplyNestedPredictionsToEval) {
    TempDir d;
    write_json_file(d.path / "gt.json", dataset());
    write_file_atomic(d.path / "deep.json", nested_array(kDeep));
    CliResult r = run_chickenseg(shell_args({"eval", "--gt", d / "gt.json", "--pred", d / "deep.json"}));
    expect_clear_error(r, "deep.json:1", "nested deeper than");
}

TEST(CliHostile, DeeplyNestedLabelmePointsToConvert) {
    TempDir d;
    fixtures::write_test_png(d.path / "in/a.png", 64, 48);
    fixtures::write_text(d.path / "in/a.json",
                         "{\"version\": \"5.0.1\", \"flags\": {}, \"imagePath\": \"a.png\", \"imageData\": null,\n"
                         "\"imageHeight\": 48, \"imageWidth\": 64, \"shapes\": [{\"label\": \"chicken\",\n"
                         "\"shape_type\": \"polygon\", \"flags\": {}, \"group_id\": null, \"points\": " +
                             nested_array(kDeep) + "}]}\n");
    CliResult r = run_chickenseg(shell_args({"-q", "data", "convert", d / "in", "--out", d / "out.json"}));
    expect_clear_error(r, "a.json:3", "nested deeper than");
    EXPECT_FALSE(fs::exists(d.path / "out.json"));
}

TEST(CliHostile, DeeplyNestedBboxToValidateAndSplit) {
    TempDir d;
    write_file_atomic(d.path / "all.json", with_first_bbox(nested_array(kDeep)));
    expect_clear_error(run_chickenseg(shell_args({"-q", "data", "validate", "--dataset", d / "all.json"})),
                       "all.json:1", "nested deeper than");
    expect_clear_error(
        run_chickenseg(shell_args({"-q", "data", "split", "--dataset", d / "all.json", "--out", d / "split"})),
        "all.json:1", "nested deeper than");
    EXPECT_FALSE(fs::exists(d.path / "split"));
}

TEST(CliHostile, NestingWithinTheLimitIsReadAndJudgedByTheReader) {
    TempDir d;
    write_file_atomic(d.path / "all.json", with_first_bbox(nested_array(200)));
    CliResult r = run_chickenseg(shell_args({"-q", "data", "validate", "--dataset", d / "all.json"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("annotations[0].bbox"), std::string::npos) << r.out.substr(0, 2000);
    EXPECT_EQ(r.out.find("nested deeper than"), std::string::npos) << r.out.substr(0, 2000);
}

// --------------------------------------------------------------- numbers beyond a double

TEST(CliHostile, NumberBeyondADoubleNamesFileAndLine) {
    TempDir d;
    write_json_file(d.path / "gt.json", dataset());
    write_file_atomic(d.path / "pred.json",
                      "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4],\n \"score\": 1e400}]\n");
    expect_clear_error(run_chickenseg(shell_args({"eval", "--gt", d / "gt.json", "--pred", d / "pred.json"})),
                       "pred.json:2", "number 1e400 is beyond the range of a double");
    write_file_atomic(d.path / "all.json", with_first_bbox("[2, 2, 1e400, 20]"));
    expect_clear_error(run_chickenseg(shell_args({"-q", "data", "validate", "--dataset", d / "all.json"})),
                       "all.json:1", "number 1e400 is beyond the range of a double");
}

// --------------------------------------------------------------- absurd file names

TEST(CliHostile, GroupRegexOnAFortyThousandCharacterFileName) {
    TempDir d;
    json doc = dataset(8);
    doc["images"][0]["file_name"] = "penA/" + std::string(40'000, 'x') + ".jpg";
    write_json_file(d.path / "all.json", doc);
    CliResult r = run_chickenseg(shell_args(
        {"-q", "data", "split", "--dataset", d / "all.json", "--out", d / "split", "--group-regex", "^([^/]+)/"}));
    expect_clear_error(r, "all.json: images[0].file_name", "file_name is 40009 characters long");
    EXPECT_FALSE(fs::exists(d.path / "split"));

    r = run_chickenseg(shell_args({"-q", "data", "validate", "--dataset", d / "all.json"}));
    expect_clear_error(r, "all.json: images[0].file_name", "expected a path of at most 4096 characters, found 40009");
}

TEST(CliHostile, GroupRegexThatRecursesDeeplyPerCharacterStillMatches) {
    // Nested capture groups take several stack frames per character in libstdc++: with this
    // pattern a name within the length bound overflowed an 8 MiB stack.
    TempDir d;
    json doc = dataset(8);
    json anns = json::array();
    for (size_t i = 0; i < doc["images"].size(); ++i) {
        doc["images"][i]["file_name"] = std::string(4080, 'a') + "/pen" + std::to_string(i) + ".jpg";
        if (i % 2 == 0) anns.push_back(doc["annotations"][i]);  // odd images negative
    }
    doc["annotations"] = anns;
    write_json_file(d.path / "all.json", doc);
    CliResult r = run_chickenseg(
        shell_args({"--json", "data", "split", "--dataset", d / "all.json", "--out", d / "split", "--group-regex",
                    "^(?=[^/]*/(pen[0-9]))(?:(((((((a|b)|c)|d)|e)|f)|g)|h))*/", "--train-ratio", "0.5"}),
        Stderr::Drop);
    ASSERT_EQ(r.code, 0) << r.out;
    json summary = json::parse(r.out);
    EXPECT_EQ(summary["input"]["groups"], 8) << r.out;  // one per pen: the key is the lookahead's group
}

// --------------------------------------------------------------- corrupt pixel data

TEST(CliHostile, ValidateDecodeFindsAPngWithCorruptPixelData) {
    TempDir d;
    std::string png = encode_png(RgbImage{64, 48, std::vector<uint8_t>(64 * 48 * 3, 90)});
    size_t idat = png.find("IDAT");
    ASSERT_NE(idat, std::string::npos);
    for (size_t k = idat + 6; k < idat + 12; ++k) png[k] = '\xff';  // a reserved deflate block type
    json doc = dataset(2);
    for (int i = 0; i < 2; ++i) {
        doc["images"][i]["file_name"] = "im" + std::to_string(i) + ".png";
        if (i == 0)
            write_file_atomic(d.path / "images/im0.png", png);
        else
            write_png(d.path / "images/im1.png", RgbImage{64, 48, std::vector<uint8_t>(64 * 48 * 3, 90)});
    }
    write_json_file(d.path / "all.json", doc);
    // The default check reads headers only (documented): this file passes it.
    CliResult header = run_chickenseg(
        shell_args({"-q", "data", "validate", "--dataset", d / "all.json", "--image-root", d / "images"}));
    EXPECT_EQ(header.out.find("im0.png"), std::string::npos) << header.out;
    CliResult r = run_chickenseg(
        shell_args({"-q", "data", "validate", "--dataset", d / "all.json", "--image-root", d / "images", "--decode"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("all.json: images[0].file_name: cannot decode image " + d / "images/im0.png"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(run_chickenseg(shell_args({"-q", "data", "validate", "--dataset", d / "all.json", "--decode"})).code, 2);
}

// --------------------------------------------------------------- unreadable folders

TEST(CliHostile, ConvertRefusesAFolderItCannotReadNamingIt) {
    // Permission bits do not stop root (CI runs as root): the tool then runs as nobody. The data
    // lies under the system temp folder, which nobody can traverse.
    TempDir d;
    fixtures::write_text(d.path / "yolo/classes.txt", "chicken\n");
    fixtures::write_test_png(d.path / "yolo/images/a.png", 40, 20);
    fixtures::write_text(d.path / "yolo/labels/a.txt", "0 0.5 0.5 0.5 0.5\n");
    fixtures::write_test_png(d.path / "yolo/images/pen2/b.png", 40, 20);
    for (const auto& e : fs::recursive_directory_iterator(d.path))
        fs::permissions(e.path(), e.is_directory() ? fs::perms::all & ~fs::perms::others_write & ~fs::perms::group_write
                                                   : fs::perms::owner_read | fs::perms::owner_write |
                                                         fs::perms::group_read | fs::perms::others_read);
    fs::permissions(d.path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(d.path / "yolo/images/pen2", fs::perms::none);
    const std::string as_user = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "";
    CliResult r =
        run_chickenseg(shell_args({"-q", "data", "convert", d / "yolo", "--dry-run"}), Stderr::Merge, as_user);
    fs::permissions(d.path / "yolo/images/pen2", fs::perms::owner_all);  // so TempDir can remove it
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find(d / "yolo/images/pen2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cannot list folder: Permission denied"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("warnings 0"), std::string::npos) << r.out;
}

// --------------------------------------------------------------- a folder given for a file

TEST(CliHostile, AFolderGivenForAFileIsNamed) {
    TempDir d;
    fs::create_directories(d.path / "folder");
    write_json_file(d.path / "gt.json", dataset());
    const std::string folder = d / "folder";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"data", "validate", "--dataset", folder},
             {"data", "split", "--dataset", folder, "--out", d / "split"},
             {"data", "stats", "--dataset", folder},
             {"data", "holdout", "--dataset", folder, "--negatives-only", "--out", d / "neg.json"},
         }) {
        std::vector<std::string> all{"-q"};
        all.insert(all.end(), args.begin(), args.end());
        CliResult r = run_chickenseg(shell_args(all));
        EXPECT_EQ(r.code, 1) << args[1] << ": " << r.out;
        EXPECT_NE(r.out.find(folder + ": is a folder, expected a file"), std::string::npos) << args[1] << ": " << r.out;
        EXPECT_EQ(r.out.find("bad_alloc"), std::string::npos) << r.out;
    }
}

// --------------------------------------------------------------- ids: one reader, one set of checks

TEST(CliHostile, AnImageIdBeyondInt64IsRefusedByEveryCommandNotWrittenAsMinusOne) {
    TempDir d;
    json doc = dataset(8);
    for (int i = 4; i < 8; ++i) doc["annotations"][i]["image_id"] = 1;  // images 5..8 negative
    doc["images"][7]["id"] = 7777777;
    write_json_file(d.path / "all.json", doc);
    std::string text = read_file(d.path / "all.json");
    ASSERT_NE(text.find("7777777"), std::string::npos);
    text.replace(text.find("7777777"), 7, "18446744073709551615");
    write_file_atomic(d.path / "all.json", text);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"data", "validate", "--dataset", d / "all.json"},
             {"data", "split", "--dataset", d / "all.json", "--out", d / "split", "--train-ratio", "0.5"},
             {"data", "holdout", "--dataset", d / "all.json", "--negatives-only", "--out", d / "neg.json"},
             {"data", "stats", "--dataset", d / "all.json"},
         }) {
        std::vector<std::string> all{"-q"};
        all.insert(all.end(), args.begin(), args.end());
        CliResult r = run_chickenseg(shell_args(all));
        EXPECT_EQ(r.code, 1) << args[1] << ": " << r.out;
        EXPECT_NE(r.out.find("18446744073709551615"), std::string::npos) << args[1] << ": " << r.out;
        EXPECT_NE(r.out.find("images[7].id"), std::string::npos) << args[1] << ": " << r.out;
    }
    EXPECT_FALSE(fs::exists(d.path / "split"));
    EXPECT_FALSE(fs::exists(d.path / "neg.json"));
}

TEST(CliHostile, HoldoutRefusesWhatSplitRefuses) {
    // An annotation whose image_id names no image leaves its positive image looking negative:
    // holdout put that positive into the negatives-only holdout.
    TempDir d;
    json doc = dataset(4);
    doc["annotations"][1]["image_id"] = 99;  // meant for image 2
    write_json_file(d.path / "orphan.json", doc);
    CliResult r = run_chickenseg(shell_args(
        {"-q", "data", "holdout", "--dataset", d / "orphan.json", "--negatives-only", "--out", d / "neg.json"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("orphan.json: annotations[1].image_id: image_id 99 names no image of this file"),
              std::string::npos)
        << r.out;
    EXPECT_FALSE(fs::exists(d.path / "neg.json"));

    json dup = dataset(4);
    dup["images"][3]["id"] = 1;
    write_json_file(d.path / "dup.json", dup);
    r = run_chickenseg(shell_args(
        {"-q", "data", "holdout", "--dataset", d / "dup.json", "--negatives-only", "--out", d / "neg.json"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("dup.json: images[3].id: duplicate image id 1 (also images[0].id)"), std::string::npos)
        << r.out;
}

TEST(CliHostile, AWholeFloatIdIsRefusedAsValidateRefusesIt) {
    TempDir d;
    std::string text = dataset(4).dump();
    std::string first = "\"id\":1,";
    ASSERT_NE(text.find(first), std::string::npos);
    text.replace(text.find(first), first.size(), "\"id\":1.0,");
    write_file_atomic(d.path / "all.json", text);
    for (const char* cmd : {"validate", "stats"}) {
        CliResult r = run_chickenseg(shell_args({"-q", "data", cmd, "--dataset", d / "all.json"}));
        EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("expected an integer, found 1.0"), std::string::npos) << cmd << ": " << r.out;
    }
}

// --------------------------------------------------------------- files outside the image root

TEST(CliHostile, AFileNameOutsideTheImageRootIsRefusedNeverRead) {
    TempDir d;
    // A secret beside the image root, and a dataset naming it (and an absolute path).
    write_file_atomic(d.path / "secret.txt", "TOP-SECRET-BYTES");
    fixtures::write_test_png(d.path / "images/a.png", 64, 48);
    json doc = dataset(2);
    doc["images"][0]["file_name"] = "a.png";
    for (const std::string& outside : {std::string("../secret.txt"), d / "secret.txt"}) {
        doc["images"][1]["file_name"] = outside;
        write_json_file(d.path / "all.json", doc);
        CliResult v = run_chickenseg(
            shell_args({"-q", "data", "validate", "--dataset", d / "all.json", "--image-root", d / "images"}));
        EXPECT_EQ(v.code, 1) << v.out;
        EXPECT_NE(v.out.find("images[1].file_name: expected a path relative to the image root"), std::string::npos)
            << v.out;
        EXPECT_EQ(v.out.find("TOP-SECRET"), std::string::npos) << v.out;
        EXPECT_EQ(v.out.find("cannot read image"), std::string::npos) << v.out;  // not even opened

        CliResult m = run_chickenseg(shell_args({"-q", "--json", "data", "version", "--dataset", d / "all.json",
                                                 "--image-root", d / "images", "--no-dvc"}));
        EXPECT_EQ(m.code, 1) << m.out;
        EXPECT_NE(m.out.find("all.json: images[1].file_name: file_name \"" + outside + "\" is outside the image root"),
                  std::string::npos)
            << m.out;
        EXPECT_FALSE(fs::exists(d.path / "all.manifest.json"));
        for (const auto& e : fs::directory_iterator(d.path))
            EXPECT_EQ(e.path().filename().string().find("manifest"), std::string::npos) << e.path();
    }
}

// --------------------------------------------------------------- huge coordinates

TEST(CliHostile, AHugePolygonValueNamesItsFileAndIndex) {
    TempDir d;
    write_json_file(d.path / "gt.json", dataset());
    write_file_atomic(d.path / "pred.json",
                      "[{\"image_id\": 1, \"category_id\": 1, \"score\": 0.9, \"bbox\": [0, 0, 2, 2],\n"
                      "  \"segmentation\": [[0, 0, 1e9, 0, 5, 5]]}]\n");
    CliResult r = run_chickenseg(shell_args({"eval", "--gt", d / "gt.json", "--pred", d / "pred.json"}));
    expect_clear_error(r, "pred.json: predictions[0].segmentation[0][2]",
                       "expected a pixel coordinate within +-1e7, found 1000000000");
    // The same in the ground truth (the fast reader leaves it to the general one, which names it).
    json gt = dataset();
    gt["annotations"][0]["segmentation"] = json::array({json::array({0, 0, 1e9, 0, 5, 5})});
    write_json_file(d.path / "gt.json", gt);
    r = run_chickenseg(shell_args({"-q", "data", "split", "--dataset", d / "gt.json", "--out", d / "s"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("gt.json: annotations[0].segmentation[0][2]: expected a pixel coordinate within +-1e7"),
              std::string::npos)
        << r.out;
}

TEST(CliHostile, AHugeLabelmeMaskPointIsNamed) {
    TempDir d;
    fixtures::write_test_png(d.path / "in/a.png", 64, 48);
    fixtures::write_text(d.path / "in/a.json",
                         "{\"version\": \"5.0.1\", \"flags\": {}, \"imagePath\": \"a.png\", \"imageData\": null,\n"
                         "\"imageHeight\": 48, \"imageWidth\": 64, \"shapes\": [{\"label\": \"chicken\",\n"
                         "\"shape_type\": \"mask\", \"flags\": {}, \"group_id\": null, \"mask\": \"AAAA\",\n"
                         "\"points\": [[1, 1], [1e300, 3]]}]}\n");
    CliResult r = run_chickenseg(shell_args({"-q", "data", "convert", d / "in", "--out", d / "out.json"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("a.json: shapes[0].points[1][0]: expected a pixel coordinate within +-1e7, found 1e+300"),
              std::string::npos)
        << r.out;
}

// --------------------------------------------------------------- text that is not UTF-8, terminal escapes

TEST(CliHostile, AFileNameOrClassNameThatIsNotUtf8IsNamed) {
    TempDir d;
    fixtures::write_text(d.path / "yolo/classes.txt", "chicken\n");
    fixtures::write_test_png(d.path / "yolo/images/a.png", 40, 20);
    fixtures::write_text(d.path / "yolo/labels/a.txt", "0 0.5 0.5 0.5 0.5\n");
    fixtures::write_test_png(d.path / "yolo/images/h\xfchner.png", 40, 20);  // Latin-1 "ü"
    CliResult r = run_chickenseg(shell_args({"-q", "data", "convert", d / "yolo", "--out", d / "out.json"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("yolo/images/h\\xFChner.png: the file name is not valid UTF-8"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("json.exception"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\xfc'), std::string::npos) << "raw bytes printed";
    EXPECT_FALSE(fs::exists(d.path / "out.json"));
    fs::remove(d.path / "yolo/images/h\xfchner.png");

    // A Latin-1 class name: refused where it is read, not after the output is written.
    fixtures::write_text(d.path / "yolo/classes.txt", "chicken\nH\xfchner\n");
    r = run_chickenseg(shell_args(
        {"--json", "data", "convert", d / "yolo", "--out", d / "out.json", "--unknown-labels", "background"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("classes.txt:2: class name \"H\\xFChner\" is not valid UTF-8"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(d.path / "out.json"));
}

TEST(CliHostile, AnsiEscapesInLabelsDoNotReachTheTerminal) {
    TempDir d;
    fixtures::write_text(d.path / "yolo/classes.txt", "chicken\n\x1b[2J\x1b[31mred\n");
    fixtures::write_test_png(d.path / "yolo/images/a.png", 40, 20);
    fixtures::write_text(d.path / "yolo/labels/a.txt", "0 0.5 0.5 0.5 0.5\n1 0.1 0.1 0.1 0.1\n");
    // Unknown label: the error names it.
    CliResult r = run_chickenseg(shell_args({"-q", "data", "convert", d / "yolo", "--out", d / "out.json"}));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\\x1B[2J\\x1B[31mred"), std::string::npos) << r.out;
    // Mapped to background: the label table shows it.
    r = run_chickenseg(
        shell_args({"-q", "data", "convert", d / "yolo", "--out", d / "out.json", "--unknown-labels", "background"}));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\\x1B[2J\\x1B[31mred"), std::string::npos) << r.out;
}

// --------------------------------------------------------------- command line

TEST(CliHostile, AnUnknownCommandIsNamedAlsoWithHelp) {
    // --help used to be answered first: the main help, exit 0.
    for (std::string args : {"predikt --help", "predikt", "-q predikt -h", "data convrt --help"}) {
        CliResult r = run_chickenseg(args);
        EXPECT_EQ(r.code, 2) << args << ": " << r.out;
        std::string name = args.find("convrt") != std::string::npos ? "data convrt" : "predikt";
        EXPECT_NE(r.out.find("error: unknown command \"" + name + "\""), std::string::npos) << args << ": " << r.out;
        EXPECT_EQ(r.out.find("Usage:"), std::string::npos) << args << ": " << r.out;
    }
    EXPECT_EQ(run_chickenseg("data convert --help").code, 0);
    EXPECT_EQ(run_chickenseg("--json data --help").code, 0);
    EXPECT_EQ(run_chickenseg("--help").code, 0);
}

TEST(CliHostile, SplitNamesStayInsideTheOutputFolder) {
    TempDir d;
    write_json_file(d.path / "all.json", dataset(8));
    for (std::string name : {"../../x.json", "../x.json", "sub/x.json", "..", "/tmp/x.json"}) {
        CliResult r = run_chickenseg(
            shell_args({"-q", "data", "split", "--dataset", d / "all.json", "--out", d / "out", "--train-name", name}));
        EXPECT_EQ(r.code, 2) << name << ": " << r.out;
        EXPECT_NE(r.out.find("expected a file name in --out"), std::string::npos) << name << ": " << r.out;
        r = run_chickenseg(
            shell_args({"-q", "data", "split", "--dataset", d / "all.json", "--out", d / "out", "--val-name", name}));
        EXPECT_EQ(r.code, 2) << name << ": " << r.out;
    }
    EXPECT_FALSE(fs::exists(d.path / "x.json"));
    EXPECT_FALSE(fs::exists(d.path / "out"));
}

TEST(CliHostile, SampleAtASmallSizeTheFlagAccepts) {
    TempDir d;
    CliResult r =
        run_chickenseg(shell_args({"-q", "data", "sample", "--out", d / "s", "--count", "24", "--size", "160x120"}));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}
