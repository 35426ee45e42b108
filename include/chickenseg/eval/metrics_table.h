// Human-readable tables of an evaluation result, shared by the commands that print one.
#pragma once

#include <string>

#include "chickenseg/eval/saco_metrics.h"

namespace chickenseg {

// Counts, the metric table (segm / bbox columns), image-level metrics and the
// hard-negative section. `presence_file` names the presence source when one was given.
std::string format_eval_summary(const EvalResult& result, const std::string& presence_file);
// Per-image TP/FP/FN at IoU 0.5, worst first.
std::string format_eval_per_image(const EvalResult& result);

}  // namespace chickenseg
