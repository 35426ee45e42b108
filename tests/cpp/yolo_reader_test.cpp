#include "chickenseg/data/yolo_reader.h"

#include <gtest/gtest.h>

#include "chickenseg/core/error.h"
#include "convert_fixtures.h"

using namespace chickenseg;

namespace {
std::vector<std::string> error_texts(const Diagnostics& d) {
    std::vector<std::string> out;
    for (const auto& i : d.items())
        if (i.severity == Severity::error) out.push_back(i.text());
    return out;
}
}  // namespace

TEST(YoloClasses, ClassesTxt) {
    auto c = parse_yolo_classes_txt(
        "\xEF\xBB\xBF"
        "Chicken\r\n Egg \n\n\n",
        "classes.txt");
    EXPECT_EQ(c.names, (std::vector<std::string>{"Chicken", "Egg"}));
    EXPECT_EQ(c.file, "classes.txt");
}

TEST(YoloClasses, BlankLineInsideShiftsIdsSoIsAnError) {
    try {
        parse_yolo_classes_txt("a\n\nb\n", "classes.txt");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.place().line, 2);
        EXPECT_NE(e.message().find("blank line"), std::string::npos);
    }
    EXPECT_THROW(parse_yolo_classes_txt("\n \n", "classes.txt"), Error);
}

TEST(YoloClasses, DataYamlListAndMap) {
    auto a = parse_yolo_data_yaml("path: .\ntrain: images\nnc: 2\nnames: [Chicken, Egg]\n", "data.yaml");
    EXPECT_EQ(a.names, (std::vector<std::string>{"Chicken", "Egg"}));
    auto b = parse_yolo_data_yaml("names:\n  1: Egg\n  0: Chicken\n", "data.yaml");
    EXPECT_EQ(b.names, (std::vector<std::string>{"Chicken", "Egg"}));
}

TEST(YoloClasses, DataYamlErrors) {
    auto message = [](const std::string& yaml) {
        try {
            parse_yolo_data_yaml(yaml, "data.yaml");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("train: x\n").find("missing `names`"), std::string::npos);
    EXPECT_NE(message("names: {0: a, 2: c}\n").find("id 1 is missing"), std::string::npos);
    EXPECT_NE(message("names: {x: a}\n").find("class id"), std::string::npos);
    EXPECT_NE(message("nc: 3\nnames: [a, b]\n").find("nc is 3"), std::string::npos);
    EXPECT_NE(message("names: [a, '']\n").find("empty name"), std::string::npos);
    EXPECT_NE(message("names: [a\n").find("malformed YAML"), std::string::npos);
    EXPECT_NE(message("names: 5\n").find("list or an {id: name} map"), std::string::npos);
    // Duplicate keys were silently resolved to the first.
    EXPECT_EQ(message("names: [a, b]\nnc: 2\nnames: [c, d]\n"), "data.yaml:3: names: duplicate key (first at line 1)");
    EXPECT_NE(message("names:\n  0: a\n  0: b\n").find("class id 0 twice (first at line 2)"), std::string::npos);
    EXPECT_NE(message("names: [a, \"H\xfchner\"]\n").find("not valid UTF-8"), std::string::npos);
}

TEST(YoloClasses, AClassNameThatIsNotUtf8IsNamedWithItsLine) {
    try {
        parse_yolo_classes_txt("chicken\nH\xfchner\n", "classes.txt");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(),
                     "classes.txt:2: class name \"H\\xFChner\" is not valid UTF-8 (save the file as UTF-8: labels end "
                     "up in JSON)");
    }
}

TEST(YoloClasses, ReadByExtensionAndFind) {
    fixtures::TempDir dir;
    EXPECT_TRUE(find_yolo_class_file(dir.path()).empty());
    fixtures::write_text(dir / "data.yaml", "names: [hen]\n");
    EXPECT_EQ(find_yolo_class_file(dir.path()), dir / "data.yaml");
    EXPECT_EQ(read_yolo_class_names(dir / "data.yaml").names, std::vector<std::string>{"hen"});
    fixtures::write_text(dir / "classes.txt", "chicken\n");
    EXPECT_EQ(find_yolo_class_file(dir.path()), dir / "classes.txt");  // classes.txt wins
    EXPECT_EQ(read_yolo_class_names(dir / "classes.txt").names, std::vector<std::string>{"chicken"});
}

TEST(YoloLabels, DetectionLineBecomesFourCorners) {
    Diagnostics d;
    auto objs = parse_yolo_labels("1 0.5 0.5 0.2 0.4\n", "a.txt", 2, d);
    ASSERT_TRUE(d.empty());
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_EQ(objs[0].class_id, 1u);
    EXPECT_TRUE(objs[0].is_box);
    EXPECT_EQ(objs[0].line, 1);
    std::vector<double> expected{0.4, 0.3, 0.6, 0.3, 0.6, 0.7, 0.4, 0.7};
    ASSERT_EQ(objs[0].xy.size(), 8u);
    for (size_t i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(objs[0].xy[i], expected[i]) << i;
}

TEST(YoloLabels, SegmentationLabelStudioBoxesCrlfAndBlankLines) {
    Diagnostics d;
    auto objs = parse_yolo_labels("\n0 0.1 0.2 0.9 0.2 0.9 0.8 0.1 0.8\r\n   \n0 0 0 1 0 0.5 1\n", "a.txt", 1, d);
    ASSERT_TRUE(d.empty()) << error_texts(d)[0];
    ASSERT_EQ(objs.size(), 2u);
    EXPECT_FALSE(objs[0].is_box);
    EXPECT_EQ(objs[0].line, 2);
    EXPECT_EQ(objs[0].xy, (std::vector<double>{0.1, 0.2, 0.9, 0.2, 0.9, 0.8, 0.1, 0.8}));
    EXPECT_EQ(objs[1].line, 4);
    EXPECT_EQ(objs[1].xy.size(), 6u);
}

TEST(YoloLabels, EmptyFileHasNoObjects) {
    Diagnostics d;
    EXPECT_TRUE(parse_yolo_labels("", "a.txt", 1, d).empty());
    EXPECT_TRUE(parse_yolo_labels("\n\n", "a.txt", 1, d).empty());
    EXPECT_TRUE(d.empty());
}

TEST(YoloLabels, EveryBadLineIsReportedWithItsLine) {
    Diagnostics d;
    std::string text =
        "0 0.5 0.5 0.1 0.1\n"              // 1 ok
        "0 0.5 0.5 0.1\n"                  // 2 four fields
        "0 0.1 0.1 0.2 0.2 0.3 0.3 0.4\n"  // 3 odd coordinate count (8 fields)
        "0 0.1 0.1 0.2 0.2 0.3\n"          // 4 six fields
        "5 0.5 0.5 0.1 0.1\n"              // 5 class out of range
        "-1 0.5 0.5 0.1 0.1\n"             // 6 negative class
        "x 0.5 0.5 0.1 0.1\n"              // 7 class not a number
        "0 0.5 abc 0.1 0.1\n"              // 8 not a number
        "0 0.5 0.5 nan 0.1\n"              // 9 nan
        "0 1.2 0.5 0.1 0.1\n"              // 10 outside [0, 1]
        "0 0.5 0.5 -0.1 0.1\n"             // 11 negative size
        "0 0.99 0.5 0.1 0.1\n"             // 12 box sticks out of the image
        "0 0.0 0.0 1.0000005 0 0.5 1\n"    // 13 within tolerance: clamped, ok
        "0 0.1 0.1 0.2 0.2 0.3 -0.01\n";   // 14 point outside
    auto objs = parse_yolo_labels(text, "labels/a.txt", 2, d);
    ASSERT_EQ(objs.size(), 2u);
    EXPECT_EQ(objs[0].line, 1);
    EXPECT_EQ(objs[1].line, 13);
    EXPECT_EQ(objs[1].xy[2], 1.0);
    auto errs = error_texts(d);
    ASSERT_EQ(errs.size(), 12u);
    std::vector<long> lines;
    for (const auto& i : d.items()) lines.push_back(i.place.line);
    EXPECT_EQ(lines, (std::vector<long>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14}));
    EXPECT_EQ(d.items()[0].place.file, "labels/a.txt");
    EXPECT_NE(errs[0].find("found 4 fields"), std::string::npos);
    EXPECT_NE(errs[3].find("class id 5 is out of range: there are 2 classes"), std::string::npos);
    EXPECT_NE(errs[6].find("expected a number in field 3, found \"abc\""), std::string::npos);
    EXPECT_NE(errs[8].find("outside [0, 1]"), std::string::npos);
    EXPECT_NE(errs[9].find("negative"), std::string::npos);
}

TEST(YoloLabels, ToPixels) {
    Diagnostics d;
    auto objs = parse_yolo_labels("1 0.5 0.5 0.5 0.5\n0 0 0 1 0 1 1\n", "a.txt", 2, d);
    YoloClassNames names{{"Chicken", "Egg"}, "classes.txt"};
    auto src = yolo_to_source_objects(objs, names, 200, 100, "a.txt");
    ASSERT_EQ(src.size(), 2u);
    EXPECT_EQ(src[0].label, "Egg");
    EXPECT_EQ(src[0].place.line, 1);
    ASSERT_EQ(src[0].segmentation.polygons.size(), 1u);
    EXPECT_EQ(src[0].segmentation.polygons[0], (Polygon{50, 25, 150, 25, 150, 75, 50, 75}));
    EXPECT_EQ(src[1].label, "Chicken");
    EXPECT_EQ(src[1].segmentation.polygons[0], (Polygon{0, 0, 200, 0, 200, 100}));
    EXPECT_FALSE(src[1].segmentation.is_rle);
}
