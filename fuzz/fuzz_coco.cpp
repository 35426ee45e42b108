// COCO instance files (data convert's COCO input).
#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/coco_reader.h"
#include "fuzz_support.h"

using namespace chickenseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::expect_only_errors([&] {
        json doc = parse_json_text(fuzz::text_of(data, size), "coco.json");
        Diagnostics d;
        parse_coco(doc, "coco.json", d);
    });
    return 0;
}
