// Reading predictions.json and presence.json: what is accepted, and one test per
// kind of bad input, checking the error names the file, the record and the problem.
#include "chickenseg/eval/predictions.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>

#include "chickenseg/core/error.h"
#include "chickenseg/core/json_file.h"
#include "eval/results_list_scanner.h"

namespace chickenseg {
namespace {

SacoDataset small_gt() {
    SacoDataset gt;
    for (int64_t id : {1, 2}) {
        SacoImage im;
        im.id = id;
        im.file_name = "im.jpg";
        im.width = 4;
        im.height = 3;
        gt.images.push_back(im);
    }
    return gt;
}

// A 3x4 mask with the first two columns set: counts [0, 6, 6].
const char* kRle = R"({"size": [3, 4], "counts": [0, 6, 6]})";

std::string record(const std::string& fields) { return "[{" + fields + "}]"; }

Error read_error(const std::string& text, const std::string& file = "pred.json", bool masks = true) {
    try {
        PredictionReadParams p;
        p.require_masks = masks;
        predictions_from_text(text, file, small_gt(), p);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << text;
    return Error("none");
}

TEST(Predictions, ReadsRleAndPolygonsAndDerivesMissingBox) {
    std::string text = std::string("[") + R"({"image_id": 1, "category_id": 1, "segmentation": )" + kRle +
                       R"(, "bbox": [0, 0, 2, 3], "score": 0.75},)" +
                       R"({"image_id": 2, "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]], "score": 0.5},)" +
                       R"({"image_id": 2, "segmentation": )" + kRle + R"(, "score": 1})" + "]";
    PredictionSet s = predictions_from_text(text, "pred.json", small_gt());
    ASSERT_EQ(s.predictions.size(), 3u);
    EXPECT_EQ(s.predictions[0].image_id, 1);
    EXPECT_EQ(rle_area(rle_decompress(s.predictions[0].mask)), 6u);
    EXPECT_TRUE(s.predictions[0].bbox_given);
    EXPECT_DOUBLE_EQ(s.predictions[0].score, 0.75);
    EXPECT_TRUE(s.predictions[1].has_mask);
    EXPECT_EQ(s.predictions[1].mask.h, 3u);
    EXPECT_EQ(s.predictions[1].mask.w, 4u);
    EXPECT_FALSE(s.predictions[2].bbox_given);
    EXPECT_EQ(s.predictions[2].bbox, (BoxXywh{0, 0, 2, 3}));  // the mask's tight box
    EXPECT_EQ(s.predictions[2].index, 2u);
}

TEST(Predictions, CompressedRleStringIsAccepted) {
    Rle r{3, 4, {0, 6, 6}};
    std::string text = record(R"("image_id": 1, "segmentation": {"size": [3, 4], "counts": ")" + rle_to_string(r) +
                              R"("}, "score": 0.9)");
    PredictionSet s = predictions_from_text(text, "pred.json", small_gt());
    EXPECT_EQ(rle_decompress(s.predictions[0].mask), r);
}

TEST(Predictions, EmptyListIsValid) {
    EXPECT_TRUE(predictions_from_text("[]", "pred.json", small_gt()).predictions.empty());
}

TEST(Predictions, PythonNaNScoreIsReportedWithLineAndRecord) {
    std::string text = "[\n" + std::string(R"({"image_id": 1, "segmentation": )") + kRle + R"(, "score": 0.5},)" +
                       "\n" + R"({"image_id": 2, "segmentation": )" + kRle + R"(, "score": NaN})" + "\n]";
    Error e = read_error(text);
    EXPECT_EQ(e.place().file, "pred.json");
    EXPECT_EQ(e.place().line, 3);
    EXPECT_EQ(e.place().field, "predictions[1].score");
    EXPECT_EQ(e.message().rfind("NaN score", 0), 0u) << e.what();
}

TEST(Predictions, InfinityAndNegativeInfinityAreReported) {
    Error e = read_error(record(R"("image_id": 1, "score": Infinity)"));
    EXPECT_EQ(e.message().rfind("Infinity score", 0), 0u) << e.what();
    Error f = read_error(std::string("[{\"image_id\": 1, \"bbox\": [0, -Infinity, 1, 1], \"score\": 0.5}]"));
    EXPECT_EQ(f.place().field, "predictions[0].bbox[1]");
    EXPECT_EQ(f.message().rfind("-Infinity value", 0), 0u) << f.what();
}

TEST(Predictions, OtherSyntaxErrorsKeepLineAndColumn) {
    Error e = read_error("[\n{\"image_id\": 1,,}]");
    EXPECT_EQ(e.place().line, 2);
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos);
}

TEST(Predictions, ScoreProblems) {
    auto with_score = [](const std::string& s) {
        return record(std::string(R"("image_id": 1, "segmentation": )") + kRle + R"(, "score": )" + s);
    };
    Error neg = read_error(with_score("-0.1"));
    EXPECT_EQ(neg.place().field, "predictions[0].score");
    EXPECT_NE(neg.message().find("outside [0, 1]"), std::string::npos);
    Error big = read_error(with_score("1.5"));
    EXPECT_NE(big.message().find("outside [0, 1]"), std::string::npos);
    Error str = read_error(with_score("\"0.9\""));
    EXPECT_NE(str.message().find("expected a numeric score"), std::string::npos);
    Error null = read_error(with_score("null"));
    EXPECT_EQ(null.place().field, "predictions[0].score");
    Error missing = read_error(record(std::string(R"("image_id": 1, "segmentation": )") + kRle));
    EXPECT_EQ(missing.place().field, "predictions[0].score");
    EXPECT_NE(missing.message().find("missing"), std::string::npos);
}

TEST(Predictions, UnknownImageId) {
    Error e = read_error(record(std::string(R"("image_id": 99, "segmentation": )") + kRle + R"(, "score": 0.9)"));
    EXPECT_EQ(e.place().field, "predictions[0].image_id");
    EXPECT_NE(e.message().find("99"), std::string::npos);
    EXPECT_EQ(e.place().file, "pred.json");
}

TEST(Predictions, MissingImageIdOrSegmentation) {
    Error a = read_error(record(R"("segmentation": {"size": [3, 4], "counts": [12]}, "score": 0.9)"));
    EXPECT_EQ(a.place().field, "predictions[0].image_id");
    Error b = read_error(record(R"("image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.9)"));
    EXPECT_EQ(b.place().field, "predictions[0].segmentation");
    // bbox-only evaluation accepts a record without a mask, but not one with neither.
    PredictionReadParams p;
    p.require_masks = false;
    EXPECT_NO_THROW(predictions_from_text(record(R"("image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.9)"), "pred.json",
                                          small_gt(), p));
    Error c = read_error(record(R"("image_id": 1, "score": 0.9)"), "pred.json", false);
    EXPECT_EQ(c.place().field, "predictions[0].bbox");
}

TEST(Predictions, MaskSizeMustMatchTheImage) {
    Error e = read_error(record(R"("image_id": 1, "segmentation": {"size": [4, 3], "counts": [12]}, "score": 0.9)"));
    EXPECT_EQ(e.place().field, "predictions[0].segmentation.size");
    EXPECT_NE(e.message().find("does not match the image"), std::string::npos);
}

TEST(Predictions, MalformedRle) {
    Error sum =
        read_error(record(R"("image_id": 1, "segmentation": {"size": [3, 4], "counts": [0, 5]}, "score": 0.9)"));
    EXPECT_EQ(sum.place().field, "predictions[0].segmentation.counts");
    Error bad =
        read_error(record(R"("image_id": 1, "segmentation": {"size": [3, 4], "counts": "\u0001!!"}, "score": 0.9)"));
    EXPECT_EQ(bad.place().field, "predictions[0].segmentation.counts");
    Error type = read_error(record(R"("image_id": 1, "segmentation": 7, "score": 0.9)"));
    EXPECT_EQ(type.place().field, "predictions[0].segmentation");
    Error poly = read_error(record(R"("image_id": 1, "segmentation": [[0, 0, 1]], "score": 0.9)"));
    EXPECT_EQ(poly.place().field, "predictions[0].segmentation[0]");
}

TEST(Predictions, BadBox) {
    auto with_box = [](const std::string& b) {
        return record(std::string(R"("image_id": 1, "segmentation": )") + kRle + R"(, "bbox": )" + b +
                      R"(, "score": 0.9)");
    };
    EXPECT_EQ(read_error(with_box("[0, 0, 1]")).place().field, "predictions[0].bbox");
    EXPECT_EQ(read_error(with_box("[0, 0, -1, 1]")).place().field, "predictions[0].bbox");
    EXPECT_EQ(read_error(with_box("[0, \"a\", 1, 1]")).place().field, "predictions[0].bbox[1]");
}

TEST(Predictions, TopLevelMustBeAList) {
    Error e = read_error(R"({"annotations": []})");
    EXPECT_NE(e.message().find("COCO results list"), std::string::npos);
    Error r = read_error("[3]");
    EXPECT_EQ(r.place().field, "predictions[0]");
}

TEST(Predictions, DuplicateGtImageIds) {
    SacoDataset gt = small_gt();
    gt.images[1].id = 1;
    try {
        predictions_from_text("[]", "pred.json", gt);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("duplicate image id 1"), std::string::npos);
        EXPECT_EQ(e.place().field, "images[1].id");
    }
}

// The fast scanner and the general reader must agree on every accepted file.
// Every field equal; masks compared decoded (two strings may encode one mask).
void expect_same_predictions(const PredictionSet& a, const PredictionSet& b) {
    ASSERT_EQ(a.predictions.size(), b.predictions.size());
    for (size_t i = 0; i < a.predictions.size(); ++i) {
        const Prediction &x = a.predictions[i], &y = b.predictions[i];
        EXPECT_EQ(x.index, y.index);
        EXPECT_EQ(x.image_id, y.image_id);
        EXPECT_EQ(x.category_id, y.category_id);
        EXPECT_EQ(rle_decompress(x.mask), rle_decompress(y.mask));
        EXPECT_EQ(x.bbox, y.bbox);
        EXPECT_EQ(x.bbox_given, y.bbox_given);
        EXPECT_EQ(x.score, y.score);
        EXPECT_EQ(x.has_mask, y.has_mask);
    }
}

TEST(Predictions, FastPathAndGeneralReaderAgree) {
    SacoDataset gt;
    SacoImage im;
    im.id = 5;
    im.width = 37;
    im.height = 23;
    gt.images.push_back(im);
    json list = json::array();
    uint32_t seed = 7;
    bool saw_backslash = false;
    for (int k = 0; k < 200; ++k) {
        std::vector<uint8_t> m(23 * 37);
        for (auto& v : m) {
            seed = seed * 1103515245u + 12345u;
            v = (seed >> 16) % 3 == 0;
        }
        Rle r = rle_encode(m, 23, 37);
        std::string counts = rle_to_string(r);
        saw_backslash |= counts.find('\\') != std::string::npos;
        json rec = {{"image_id", 5},
                    {"score", (k % 11) / 10.0},
                    {"segmentation", {{"size", {23, 37}}, {"counts", counts}}},
                    {"extra", {{"nested", {1, 2.5e-3, "x", nullptr, true}}}}};
        if (k % 3) rec["bbox"] = {k % 5, 0.5, 2, 3.25};
        if (k % 4 == 0) rec["category_id"] = 1;
        list.push_back(rec);
    }
    ASSERT_TRUE(saw_backslash);  // escaped backslashes in RLE strings are exercised
    for (const std::string& text : {list.dump(), list.dump(2)})
        for (double masks_from_score : {0.0, 0.5}) {
            PredictionReadParams fast, general;
            general.allow_fast_path = false;
            fast.threads = 3;
            fast.masks_from_score = general.masks_from_score = masks_from_score;
            PredictionSet a = predictions_from_text(text, "pred.json", gt, fast);
            expect_same_predictions(a, predictions_from_text(text, "pred.json", gt, general));
            for (const Prediction& x : a.predictions)  // below masks_from_score: checked, not kept
                EXPECT_EQ(x.mask.counts().empty(), x.score < masks_from_score);
        }
}

// A results list large enough to be scanned in several pieces (one per 64 KiB), with
// random 23x37 masks; `note` (when not empty) is added to every record as a string.
struct BigList {
    SacoDataset gt;
    json list = json::array();
};

BigList big_list(int records, const std::string& note) {
    BigList b;
    SacoImage im;
    im.id = 5;
    im.width = 37;
    im.height = 23;
    b.gt.images.push_back(im);
    uint32_t seed = 11;
    for (int k = 0; k < records; ++k) {
        std::vector<uint8_t> m(23 * 37);
        for (auto& v : m) {
            seed = seed * 1103515245u + 12345u;
            v = (seed >> 16) % 4 == 0;
        }
        json rec = {{"image_id", 5},
                    {"score", (k % 7) / 6.0},
                    {"segmentation", {{"size", {23, 37}}, {"counts", rle_to_string(rle_encode(m, 23, 37))}}}};
        if (k % 2) rec["bbox"] = {k % 5, 0.5, 2, 3.25};
        if (!note.empty()) rec["note"] = note;
        b.list.push_back(rec);
    }
    return b;
}

TEST(Predictions, ListScannedInPiecesEqualsTheGeneralReader) {
    BigList b = big_list(3000, "");
    for (const std::string& text : {b.list.dump(), b.list.dump(2)}) {
        std::vector<size_t> starts = detail::plan_pieces(text, 4);
        ASSERT_EQ(starts.size(), 4u) << text.size() << " bytes";
        for (size_t k = 1; k < starts.size(); ++k) EXPECT_EQ(text[starts[k]], '{');
        for (unsigned threads : {1u, 2u, 4u, 7u}) {
            PredictionReadParams fast, general;
            fast.threads = threads;
            fast.masks_from_score = general.masks_from_score = 0.5;
            general.allow_fast_path = false;
            auto a = detail::scan_results_list(text, "p.json", fast);
            ASSERT_TRUE(a.has_value()) << "the fast path gave up on a valid list";
            EXPECT_TRUE(detail::fits_gt(*a, b.gt));
            expect_same_predictions(a->set, predictions_from_text(text, "p.json", b.gt, general));
        }
    }
}

TEST(Predictions, SplitInsideAStringIsDetectedAndRescanned) {
    // Every record carries a long string full of "}, {": a split candidate taken from
    // the middle of the text lands inside one, and the piece before it proves so.
    std::string note;
    for (int k = 0; k < 40; ++k) note += "}, {\"x\": 1}, {";
    BigList b = big_list(600, note);
    std::string text = b.list.dump(1);
    std::vector<size_t> starts = detail::plan_pieces(text, 4);
    ASSERT_GT(starts.size(), 1u);
    std::set<size_t> record_starts;  // where records really start: at indent 1 after a real newline
    for (size_t pos = text.find("\n {"); pos != std::string::npos; pos = text.find("\n {", pos + 1))
        record_starts.insert(pos + 2);
    ASSERT_EQ(record_starts.size(), 600u);
    bool inside_a_string = false;
    for (size_t k = 1; k < starts.size(); ++k) inside_a_string |= !record_starts.count(starts[k]);
    ASSERT_TRUE(inside_a_string) << "the test no longer makes a bad split";
    PredictionReadParams fast, general;
    fast.threads = 4;
    general.allow_fast_path = false;
    auto a = detail::scan_results_list(text, "p.json", fast);
    ASSERT_TRUE(a.has_value());
    expect_same_predictions(a->set, predictions_from_text(text, "p.json", b.gt, general));
}

TEST(Predictions, BadRecordInALaterPieceIsNamed) {
    for (int bad : {1500, 2999}) {
        BigList b = big_list(3000, "");
        b.list[static_cast<size_t>(bad)]["segmentation"]["counts"] = "5";  // sums to 5, not 23*37
        std::string text = b.list.dump();
        ASSERT_EQ(detail::plan_pieces(text, 4).size(), 4u);
        PredictionReadParams fast;
        fast.threads = 4;
        fast.masks_from_score = 0.5;  // also for a mask that would not be kept
        EXPECT_FALSE(detail::scan_results_list(text, "p.json", fast).has_value());
        try {
            predictions_from_text(text, "p.json", b.gt, fast);
            ADD_FAILURE() << "malformed mask accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("predictions[" + std::to_string(bad) + "].segmentation.counts"),
                      std::string::npos)
                << e.what();
        }
    }
}

TEST(Predictions, KeptMasksViewTheTextTheyShare) {
    // With an owner for the text, kept masks point into it (no copy) and keep it alive;
    // escaped strings, which must be unescaped, are copied.
    BigList b = big_list(3000, "");
    auto text = std::make_shared<const std::string>(b.list.dump());
    std::weak_ptr<const std::string> weak = text;
    PredictionReadParams params;
    params.threads = 4;
    params.masks_from_score = 0.5;
    auto scanned = detail::scan_results_list(*text, "p.json", params, text);
    ASSERT_TRUE(scanned.has_value());
    size_t viewed = 0, copied = 0;
    std::optional<Prediction> kept;
    for (const Prediction& p : scanned->set.predictions) {
        if (p.mask.counts().empty()) continue;
        const char* at = p.mask.counts().data();
        bool inside = at >= text->data() && at < text->data() + text->size();
        bool escaped = p.mask.counts().find('\\') != std::string_view::npos;
        EXPECT_EQ(inside, !escaped);
        (inside ? viewed : copied) += 1;
        if (inside && !kept) kept = p;
    }
    EXPECT_GT(viewed, 500u);
    EXPECT_GT(copied, 0u);  // the generated masks include strings with a backslash
    ASSERT_TRUE(kept.has_value());
    Rle expected = rle_decompress(kept->mask);
    text.reset();
    scanned.reset();
    EXPECT_FALSE(weak.expired()) << "a copied prediction keeps the text it points into alive";
    EXPECT_EQ(rle_decompress(kept->mask), expected);
    kept.reset();
    EXPECT_TRUE(weak.expired());
}

TEST(Predictions, RecordNotFittingTheGtIsNamed) {
    // The scan does not need the GT; what it cannot check alone is checked after.
    BigList b = big_list(3000, "");
    b.list[2999]["image_id"] = 99;
    b.list[1700]["segmentation"]["size"] = {37, 23};  // the counts still sum to 23*37
    std::string text = b.list.dump();
    PredictionReadParams fast;
    fast.threads = 4;
    auto scanned = detail::scan_results_list(text, "p.json", fast);
    ASSERT_TRUE(scanned.has_value());
    EXPECT_FALSE(detail::fits_gt(*scanned, b.gt));
    for (const char* expected : {"predictions[1700].segmentation", "predictions[2999].image_id"}) {
        try {
            predictions_from_text(text, "p.json", b.gt, fast);
            ADD_FAILURE() << "accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
        b.list[1700]["segmentation"]["size"] = {23, 37};
        text = b.list.dump();
    }
}

TEST(Predictions, MasksBelowTheScoreThresholdAreStillChecked) {
    // "5" sums to 5 pixels, not 3*4: an error even though the score is under the
    // threshold and the mask would never be matched. Both readers say so.
    std::string text = record(R"("image_id": 1, "segmentation": {"size": [3, 4], "counts": "5"}, "score": 0.1)");
    for (bool fast_path : {true, false}) {
        PredictionReadParams params;
        params.masks_from_score = 0.5;
        params.allow_fast_path = fast_path;
        try {
            predictions_from_text(text, "p.json", small_gt(), params);
            ADD_FAILURE() << "a malformed mask below the threshold was accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("counts sum to 5"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("predictions[0].segmentation.counts"), std::string::npos) << e.what();
        }
    }
}

TEST(Predictions, FastPathLeavesBadFilesToTheGeneralReader) {
    // Each is accepted or rejected exactly as by the general reader.
    const std::string seg = std::string(R"("segmentation": )") + kRle;
    for (const std::string& text :
         {record(R"("image_id": 1, )" + seg + R"(, "score": 01)"),
          record(R"("image_id": 1, )" + seg + R"(, "score": 1.)"),
          record(R"("image_id": 1, )" + seg + R"(, "score": 0.5)") + "x",
          record(R"("image_id": 1, "segmentation": {"size": [3, 4], "counts": "0"}, "score": 0.5)")}) {
        PredictionReadParams general;
        general.allow_fast_path = false;
        std::string fast_error, general_error;
        try {
            predictions_from_text(text, "p.json", small_gt());
        } catch (const Error& e) {
            fast_error = e.what();
        }
        try {
            predictions_from_text(text, "p.json", small_gt(), general);
        } catch (const Error& e) {
            general_error = e.what();
        }
        EXPECT_EQ(fast_error, general_error) << text;
        EXPECT_FALSE(general_error.empty()) << text;
    }
}

TEST(Presence, ReadsScores) {
    PresenceScores p = presence_from_text(R"({"schema": "chickenseg.presence/1", "presence": {"1": 0.25, "2": 1}})",
                                          "presence.json", small_gt());
    EXPECT_DOUBLE_EQ(p.by_image.at(1), 0.25);
    EXPECT_DOUBLE_EQ(p.by_image.at(2), 1.0);
}

TEST(Presence, BadInputs) {
    auto err = [](const std::string& text) -> Error {
        try {
            presence_from_text(text, "presence.json", small_gt());
        } catch (const Error& e) {
            return e;
        }
        ADD_FAILURE() << "no error for " << text;
        return Error("none");
    };
    EXPECT_EQ(err(R"({"presence": {}})").place().field, "schema");
    EXPECT_NE(err(R"({"schema": "x/1", "presence": {}})").message().find("unsupported schema"), std::string::npos);
    EXPECT_EQ(err(R"({"schema": "chickenseg.presence/1", "presence": {"7": 0.1}})").place().field, "presence.7");
    EXPECT_EQ(err(R"({"schema": "chickenseg.presence/1", "presence": {"a1": 0.1}})").place().field, "presence.a1");
    EXPECT_EQ(err(R"({"schema": "chickenseg.presence/1", "presence": {"1": 1.2}})").place().field, "presence.1");
    Error nan = err("{\"schema\": \"chickenseg.presence/1\",\n \"presence\": {\"1\": NaN}}");
    EXPECT_EQ(nan.place().line, 2);
    EXPECT_EQ(nan.place().field, "presence.1");
    EXPECT_EQ(nan.message().rfind("NaN presence score", 0), 0u) << nan.what();
    EXPECT_EQ(err(R"([1])").place().file, "presence.json");
}

}  // namespace
}  // namespace chickenseg
