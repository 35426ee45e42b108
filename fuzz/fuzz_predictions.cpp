// COCO results lists (eval --pred) against a small fixed ground truth, through the fast
// scanner and the general reader; and presence files.
#include "chickenseg/data/saco.h"
#include "chickenseg/eval/predictions.h"
#include "fuzz_support.h"

using namespace chickenseg;

namespace {

const SacoDataset& ground_truth() {
    static const SacoDataset gt = [] {
        SacoDataset ds;
        for (int64_t id : {1, 2, 7}) {
            SacoImage im;
            im.id = id;
            im.file_name = "im" + std::to_string(id) + ".png";
            im.width = 8;
            im.height = 6;
            im.text_input = "chicken";
            ds.images.push_back(im);
        }
        return ds;
    }();
    return gt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view text = fuzz::text_of(data + 1, size - 1);
    fuzz::expect_only_errors([&] {
        PredictionReadParams params;
        params.threads = 1;
        params.allow_fast_path = data[0] & 1;
        params.require_masks = data[0] & 2;
        if (data[0] & 4) {
            presence_from_text(text, "presence.json", ground_truth());
        } else {
            predictions_from_text(text, "pred.json", ground_truth(), params);
        }
    });
    return 0;
}
