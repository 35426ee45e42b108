// core/text_format: UTF-8 validation (what JSON text must be) and terminal-safe printing of
// text read from the user's files.
#include "chickenseg/core/text_format.h"

#include <gtest/gtest.h>

#include "chickenseg/core/error.h"

using namespace chickenseg;

TEST(Utf8, WellFormedSequencesOnly) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("chicken"));
    EXPECT_TRUE(is_valid_utf8("H\xc3\xbchner"));      // ü
    EXPECT_TRUE(is_valid_utf8("\xe9\xb8\xa1"));       // 鸡
    EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x90\x94"));   // U+1F414
    EXPECT_FALSE(is_valid_utf8("H\xfchner"));         // Latin-1
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe9\xb8"));          // cut short
    EXPECT_FALSE(is_valid_utf8("\x80"));              // a lone continuation byte
}

TEST(TerminalSafe, ControlsAndBrokenBytesAreEscapedTheRestKept) {
    EXPECT_EQ(terminal_safe("a\tb\nc"), "a\tb\nc");
    EXPECT_EQ(terminal_safe("\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");
    EXPECT_EQ(terminal_safe("bell\x07 del\x7f"), "bell\\x07 del\\x7F");
    EXPECT_EQ(terminal_safe("H\xfchner"), "H\\xFChner");
    EXPECT_EQ(terminal_safe("H\xc3\xbchner"), "H\xc3\xbchner");
    EXPECT_EQ(terminal_safe("csi\xc2\x9b"), "csi\\u009B");  // C1 control, as UTF-8
    const std::string once = terminal_safe("\x1b[2J\xff");
    EXPECT_EQ(terminal_safe(once), once);  // idempotent
}

TEST(TerminalSafe, EveryErrorMessageGoesThroughIt) {
    Error e("unknown label \"\x1b[2Jx\"", "dir/\xfc.json", 3, "shapes[0].label");
    EXPECT_STREQ(e.what(), "dir/\\xFC.json:3: shapes[0].label: unknown label \"\\x1B[2Jx\"");
}
