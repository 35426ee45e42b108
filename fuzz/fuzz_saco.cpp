// SA-Co dataset files: the fast scanner and the general reader (saco_from_text picks), the id
// checks every command applies, and validate's checks on the same bytes.
#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"
#include "chickenseg/data/validate.h"
#include "fuzz_support.h"

using namespace chickenseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = fuzz::text_of(data, size);
    fuzz::expect_only_errors([&] {
        SacoDataset ds = saco_from_text(text, "gt.json");
        check_saco_ids(ds, "gt.json");
        json round_trip = saco_to_json(ds);
        (void)round_trip;
    });
    fuzz::expect_only_errors([&] {
        json doc = parse_json_text(text, "gt.json");
        Diagnostics d;
        validate_saco_json(doc, "gt.json", ValidateParams{}, d);
    });
    return 0;
}
