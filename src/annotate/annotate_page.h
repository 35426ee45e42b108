// The annotator's one page (HTML with its script and style inline), generated at build time
// from src/annotate/annotate_page.html so that the binary needs no file beside it.
#pragma once

#include <string_view>

namespace chickenseg {

std::string_view annotate_page_html();

}  // namespace chickenseg
