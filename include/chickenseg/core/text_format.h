// Small text formatting shared by the tables and reports.
#pragma once

#include <string>

namespace chickenseg {

// `v` with exactly `decimals` digits after the point ("%.*f"), locale-independent.
std::string format_fixed(double v, int decimals);

}  // namespace chickenseg
