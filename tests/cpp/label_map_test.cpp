#include "chickenseg/data/label_map.h"

#include <gtest/gtest.h>

#include "chickenseg/core/error.h"

using namespace chickenseg;

TEST(NormalizeLabel, TrimsAndLowersAsciiOnly) {
    EXPECT_EQ(normalize_label("  Chicken\t"), "chicken");
    EXPECT_EQ(normalize_label("Unknown Bird"), "unknown bird");
    EXPECT_EQ(normalize_label("   "), "");
    EXPECT_EQ(normalize_label("H\xC3\x84HN"), "h\xC3\x84hn");  // non-ASCII bytes kept as they are
}

TEST(LabelMap, WithoutFileOnlyTheConceptMaps) {
    LabelMap m;
    EXPECT_EQ(m.concept_name(), "chicken");
    EXPECT_FALSE(m.concept_from_file());
    EXPECT_EQ(m.classify("chicken"), LabelRole::concept_label);
    EXPECT_EQ(m.classify(" CHICKEN "), LabelRole::concept_label);
    EXPECT_EQ(m.classify("hen"), LabelRole::unknown);
    EXPECT_EQ(m.classify("egg"), LabelRole::unknown);
    LabelMap duck("Duck");
    EXPECT_EQ(duck.classify("duck"), LabelRole::concept_label);
    EXPECT_EQ(duck.classify("chicken"), LabelRole::unknown);
}

TEST(LabelMap, ParsesAllRoles) {
    LabelMap m = LabelMap::parse(
        "concept: chicken\n"
        "synonyms: [rooster, chick, hen, Chicken]\n"
        "background: [egg]\n"
        "ambiguous: [\"unknown bird\"]\n",
        "map.yaml");
    EXPECT_TRUE(m.concept_from_file());
    EXPECT_EQ(m.concept_name(), "chicken");
    EXPECT_EQ(m.classify("Rooster"), LabelRole::concept_label);
    EXPECT_EQ(m.classify(" hen"), LabelRole::concept_label);
    EXPECT_EQ(m.classify("chicken"), LabelRole::concept_label);
    EXPECT_EQ(m.classify("EGG"), LabelRole::background);
    EXPECT_EQ(m.classify("Unknown Bird  "), LabelRole::ambiguous);
    EXPECT_EQ(m.classify("duck"), LabelRole::unknown);
    EXPECT_EQ(m.synonyms().size(), 4u);
    EXPECT_EQ(m.background(), std::vector<std::string>{"egg"});
}

TEST(LabelMap, DefaultConceptWhenFileHasNone) {
    LabelMap m = LabelMap::parse("background: [egg]\n", "m.yaml", "hen");
    EXPECT_FALSE(m.concept_from_file());
    EXPECT_EQ(m.concept_name(), "hen");
    EXPECT_EQ(m.classify("Hen"), LabelRole::concept_label);
    EXPECT_EQ(m.classify("chicken"), LabelRole::unknown);
}

TEST(LabelMap, ConceptIsKeptAsWrittenButTrimmed) {
    LabelMap m = LabelMap::parse("concept: '  Laying Hen '\n", "m.yaml");
    EXPECT_EQ(m.concept_name(), "Laying Hen");
    EXPECT_EQ(m.classify("laying hen"), LabelRole::concept_label);
}

namespace {
Error parse_error(const std::string& yaml) {
    try {
        LabelMap::parse(yaml, "map.yaml");
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error for: " << yaml;
    return Error("none");
}
}  // namespace

TEST(LabelMap, ErrorsNameFileLineAndKey) {
    Error e = parse_error("concept: chicken\nsynonym: [hen]\n");
    EXPECT_EQ(e.place().file, "map.yaml");
    EXPECT_EQ(e.place().line, 2);
    EXPECT_EQ(e.place().field, "synonym");
    EXPECT_NE(e.message().find("unknown key"), std::string::npos);

    e = parse_error("synonyms: hen\n");
    EXPECT_EQ(e.place().field, "synonyms");
    EXPECT_NE(e.message().find("list"), std::string::npos);

    e = parse_error("synonyms: [hen, [a]]\n");
    EXPECT_EQ(e.place().field, "synonyms[1]");

    e = parse_error("synonyms: [hen]\nbackground: [Hen]\n");
    EXPECT_EQ(e.place().line, 2);
    EXPECT_NE(e.message().find("already in synonyms"), std::string::npos);

    e = parse_error("background: [Chicken]\n");
    EXPECT_NE(e.message().find("already in concept"), std::string::npos);

    e = parse_error("ambiguous: [bird, ' BIRD']\n");
    EXPECT_NE(e.message().find("listed twice"), std::string::npos);

    e = parse_error("background: ['  ']\n");
    EXPECT_NE(e.message().find("non-empty"), std::string::npos);

    e = parse_error("concept: [a]\n");
    EXPECT_EQ(e.place().field, "concept");

    e = parse_error("- just\n- a list\n");
    EXPECT_NE(e.message().find("mapping"), std::string::npos);

    e = parse_error("");
    EXPECT_NE(e.message().find("empty"), std::string::npos);

    e = parse_error("synonyms: [hen\n");
    EXPECT_NE(e.message().find("malformed YAML"), std::string::npos);
    EXPECT_GT(e.place().line, 0);

    // A key twice: yaml-cpp keeps both and returned the first, so the second list was ignored.
    e = parse_error("synonyms: [hen]\nbackground: [egg]\nsynonyms: [rooster]\n");
    EXPECT_EQ(e.place().line, 3);
    EXPECT_EQ(e.place().field, "synonyms");
    EXPECT_EQ(e.message(), "duplicate key (first at line 1)");

    // Labels end up in JSON, which holds UTF-8 only.
    e = parse_error("synonyms: [\"H\xfchner\"]\n");
    EXPECT_EQ(e.place().field, "synonyms[0]");
    EXPECT_NE(e.message().find("not valid UTF-8"), std::string::npos) << e.message();
    EXPECT_NE(std::string(e.what()).find("H\\xFChner"), std::string::npos) << e.what();  // shown escaped
    e = parse_error("concept: \"H\xfchner\"\n");
    EXPECT_EQ(e.place().field, "concept");
}

TEST(LabelMap, ConceptAmongItsSynonymsIsFine) {
    LabelMap m = LabelMap::parse("concept: chicken\nsynonyms: [Chicken, hen]\n", "m.yaml");
    EXPECT_EQ(m.classify("CHICKEN"), LabelRole::concept_label);
}

TEST(LabelMap, ReadMissingFileNamesIt) {
    try {
        LabelMap::read("/nonexistent/map.yaml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "/nonexistent/map.yaml");
    }
}
