// LabelMe files: JSON -> shapes (types, points, masks as base64 PNG) -> pixel objects.
#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/labelme_reader.h"
#include "fuzz_support.h"

using namespace chickenseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::expect_only_errors([&] {
        json doc = parse_json_text(fuzz::text_of(data, size), "fuzz.json");
        Diagnostics d;
        LabelMeFile f = parse_labelme(doc, "fuzz.json", d);
        labelme_to_source_objects(f, 64, 48, "fuzz.json", d);
    });
    return 0;
}
