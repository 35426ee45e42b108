// How the labels written in annotation files map onto the one concept of a
// SA-Co dataset: the concept itself and its synonyms become the concept,
// background labels are dropped (their image stays), ambiguous labels exclude
// their whole image, anything else is unknown (the caller decides).
//
// Label map YAML (`--label-map`):
//   concept: chicken                        # optional; default "chicken"
//   synonyms: [rooster, chick, hen]         # -> the concept
//   background: [egg]                       # shapes dropped, image kept
//   ambiguous: ["unknown bird"]             # whole image excluded
// Labels compare trimmed of surrounding whitespace and ASCII case-insensitively
// ("  Chicken " == "chicken"); the concept always maps to itself.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chickenseg {

enum class LabelRole { concept_label, background, ambiguous, unknown };
// "concept", "background", "ambiguous", "unknown".
const char* label_role_name(LabelRole role);

// Trimmed of whitespace and lower-cased (ASCII letters only; other bytes kept),
// the form labels are compared in.
std::string normalize_label(std::string_view label);

class LabelMap {
public:
    // Only the concept (compared case-insensitively) maps; everything else is unknown.
    explicit LabelMap(std::string concept_name = "chicken");

    // Parses the YAML text; throws Error naming `file`, the line and the key on
    // anything unexpected (unknown key, non-string entry, a label in two lists,
    // the concept listed as background or ambiguous). `default_concept` is the
    // concept when the file has no `concept:` key.
    static LabelMap parse(const std::string& yaml_text, const std::string& file,
                          const std::string& default_concept = "chicken");
    static LabelMap read(const std::filesystem::path& path, const std::string& default_concept = "chicken");

    const std::string& concept_name() const { return concept_; }
    // True when the YAML file set `concept:` (the CLI refuses a different --concept).
    bool concept_from_file() const { return concept_from_file_; }

    LabelRole classify(std::string_view label) const;

    const std::vector<std::string>& synonyms() const { return synonyms_; }
    const std::vector<std::string>& background() const { return background_; }
    const std::vector<std::string>& ambiguous() const { return ambiguous_; }

private:
    static LabelMap parse_yaml(const std::string& yaml_text, const std::string& file,
                               const std::string& default_concept);
    std::string concept_;
    bool concept_from_file_ = false;
    std::vector<std::string> synonyms_, background_, ambiguous_;
    std::unordered_map<std::string, LabelRole> roles_;  // normalized label -> role
};

}  // namespace chickenseg
