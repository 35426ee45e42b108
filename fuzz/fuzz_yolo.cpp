// YOLO: classes.txt, data.yaml and label lines (the first byte picks which).
#include "chickenseg/core/diagnostics.h"
#include "chickenseg/data/yolo_reader.h"
#include "fuzz_support.h"

using namespace chickenseg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view text = fuzz::text_of(data + 1, size - 1);
    fuzz::expect_only_errors([&] {
        switch (data[0] % 3) {
            case 0:
                parse_yolo_classes_txt(text, "classes.txt");
                break;
            case 1:
                parse_yolo_data_yaml(std::string(text), "data.yaml");
                break;
            default: {
                Diagnostics d;
                YoloClassNames classes;
                classes.names = {"chicken", "egg"};
                auto objects = parse_yolo_labels(text, "a.txt", classes.names.size(), d);
                yolo_to_source_objects(objects, classes, 64, 48, "a.txt");
            }
        }
    });
    return 0;
}
