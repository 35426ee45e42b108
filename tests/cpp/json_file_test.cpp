// core/json_file: the checks every JSON reader goes through (nesting depth, numbers beyond a
// double), with the file and line in the message.
#include <gtest/gtest.h>

#include <string>

#include "chickenseg/core/error.h"
#include "chickenseg/core/json_file.h"

using namespace chickenseg;

namespace {

std::string nested(int depth, char open = '[', char close = ']') {
    std::string inner = open == '[' ? "0" : "";
    std::string s;
    for (int i = 0; i < depth; ++i) s += open == '{' && i > 0 ? std::string("\"k\":{") : std::string(1, open);
    s += inner;
    s += std::string(depth, close);
    return s;
}

std::string error_of(const std::string& text) {
    try {
        parse_json_text(text, "f.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(JsonFile, NestingUpToTheLimitParses) {
    EXPECT_NO_THROW(parse_json_text(nested(kMaxJsonDepth), "f.json"));
    EXPECT_NO_THROW(parse_json_text(nested(kMaxJsonDepth, '{', '}'), "f.json"));
}

TEST(JsonFile, NestingBeyondTheLimitNamesFileLineAndColumn) {
    std::string text = "{\"a\": 1,\n \"b\": " + nested(kMaxJsonDepth + 1) + "}";
    // The object is level 1, so the array opening level 257 is the 256th '[' (column 7 + 255).
    EXPECT_EQ(error_of(text), "f.json:2: JSON nested deeper than 256 levels (column 262)");
    EXPECT_NE(error_of(nested(100'000)).find("f.json:1: JSON nested deeper than 256 levels"), std::string::npos);
    EXPECT_NE(error_of(nested(100'000, '{', '}')).find("nested deeper than"), std::string::npos);
}

TEST(JsonFile, BracketsInStringsAreNotNesting) {
    std::string brackets(1000, '[');
    EXPECT_NO_THROW(parse_json_text("[\"" + brackets + "\"]", "f.json"));
    // An escaped quote does not end the string; an escaped backslash before the quote does.
    EXPECT_NO_THROW(parse_json_text("[\"a\\\"" + brackets + "\"]", "f.json"));
    EXPECT_NE(error_of("[\"a\\\\\"," + nested(300) + "]").find("nested deeper than"), std::string::npos);
}

TEST(JsonFile, CheckDepthTakesAnyLimit) {
    EXPECT_NO_THROW(check_json_depth("[[1]]", "x", 2));
    EXPECT_THROW(check_json_depth("[[[1]]]", "x", 2), Error);
    EXPECT_NO_THROW(check_json_depth("[[[", "x", 3));  // malformed: left to the parser
}

TEST(JsonFile, NumberBeyondADoubleIsNamedWithItsLine) {
    EXPECT_EQ(error_of("{\"images\": [\n{\"id\": 1e400}]}"),
              "f.json:2: number 1e400 is beyond the range of a double (column 8)");
    EXPECT_EQ(error_of("[\"1e400\",\n\n -2E+999]"),
              "f.json:3: number -2E+999 is beyond the range of a double (column 2)");
    EXPECT_EQ(parse_json_text("[1e-400]", "f.json")[0].get<double>(), 0.0);  // underflow reads as 0
}

TEST(JsonFile, SyntaxErrorsKeepTheirLineAndColumn) {
    EXPECT_NE(error_of("[1,\n 2,,]").find("f.json:2: malformed JSON (column 4)"), std::string::npos);
}
