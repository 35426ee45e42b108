#include "chickenseg/data/label_map.h"

#include <unordered_map>

#include <yaml-cpp/yaml.h>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/text_format.h"

namespace chickenseg {

const char* label_role_name(LabelRole role) {
    switch (role) {
        case LabelRole::concept_label:
            return "concept";
        case LabelRole::background:
            return "background";
        case LabelRole::ambiguous:
            return "ambiguous";
        case LabelRole::unknown:
            return "unknown";
    }
    return "unknown";
}

std::string normalize_label(std::string_view label) {
    constexpr std::string_view kSpace = " \t\r\n\v\f";
    size_t b = label.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    size_t e = label.find_last_not_of(kSpace);
    std::string out(label.substr(b, e - b + 1));
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

LabelMap::LabelMap(std::string concept_name) : concept_(std::move(concept_name)) {
    roles_[normalize_label(concept_)] = LabelRole::concept_label;
}

LabelRole LabelMap::classify(std::string_view label) const {
    auto it = roles_.find(normalize_label(label));
    return it == roles_.end() ? LabelRole::unknown : it->second;
}

namespace {

long line_of(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 0; }

std::vector<std::pair<std::string, long>> string_list(const YAML::Node& node, const std::string& key,
                                                      const std::string& file) {
    if (!node.IsSequence()) throw Error("expected a list of labels, e.g. [a, b]", file, line_of(node), key);
    std::vector<std::pair<std::string, long>> out;
    for (size_t i = 0; i < node.size(); ++i) {
        const YAML::Node& item = node[i];
        std::string path = key + "[" + std::to_string(i) + "]";
        if (!item.IsScalar()) throw Error("expected a label (a string)", file, line_of(item), path);
        std::string label = item.as<std::string>();
        if (normalize_label(label).empty()) throw Error("expected a non-empty label", file, line_of(item), path);
        if (!is_valid_utf8(label))
            throw Error("label \"" + label + "\" is not valid UTF-8 (save the file as UTF-8)", file, line_of(item),
                        path);
        out.emplace_back(label, line_of(item));
    }
    return out;
}

}  // namespace

LabelMap LabelMap::parse(const std::string& yaml_text, const std::string& file, const std::string& default_concept) {
    try {
        return parse_yaml(yaml_text, file, default_concept);
    } catch (const YAML::Exception& e) {
        // yaml-cpp conversion errors (e.g. a key that is not a string) carry a position too.
        throw Error("unexpected YAML content: " + e.msg, file, e.mark.line >= 0 ? e.mark.line + 1 : 0);
    }
}

LabelMap LabelMap::parse_yaml(const std::string& yaml_text, const std::string& file,
                              const std::string& default_concept) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw Error("malformed YAML: " + e.msg, file, e.mark.line >= 0 ? e.mark.line + 1 : 0);
    }
    if (root.IsNull()) throw Error("empty label map: expected keys concept, synonyms, background, ambiguous", file);
    if (!root.IsMap())
        throw Error("expected a mapping with keys concept, synonyms, background, ambiguous", file, line_of(root));

    LabelMap map(default_concept);
    bool have_concept = false;
    std::unordered_map<std::string, long> seen_keys;
    for (const auto& kv : root) {
        std::string key = kv.first.as<std::string>();
        // YAML forbids a key twice in one mapping; yaml-cpp keeps both and root[key] returns
        // the first, so the second list would be ignored without a word.
        if (auto [it, inserted] = seen_keys.emplace(key, line_of(kv.first)); !inserted)
            throw Error("duplicate key (first at line " + std::to_string(it->second) + ")", file, line_of(kv.first),
                        key);
        if (key == "concept") {
            if (!kv.second.IsScalar() || normalize_label(kv.second.as<std::string>()).empty())
                throw Error("expected the concept name (a non-empty string)", file, line_of(kv.second), key);
            std::string raw = kv.second.as<std::string>();
            if (!is_valid_utf8(raw))
                throw Error("the concept name is not valid UTF-8 (save the file as UTF-8)", file, line_of(kv.second),
                            key);
            // Keep the concept as written, only trimmed: it becomes text_input.
            size_t b = raw.find_first_not_of(" \t"), e = raw.find_last_not_of(" \t");
            map.concept_ = raw.substr(b, e - b + 1);
            have_concept = true;
        } else if (key != "synonyms" && key != "background" && key != "ambiguous") {
            throw Error("unknown key (expected concept, synonyms, background, ambiguous)", file, line_of(kv.first),
                        key);
        }
    }
    map.concept_from_file_ = have_concept;
    map.roles_.clear();
    std::unordered_map<std::string, std::string> owner;  // normalized label -> list that claimed it
    map.roles_[normalize_label(map.concept_)] = LabelRole::concept_label;
    owner[normalize_label(map.concept_)] = "concept";

    auto take = [&](const char* key, LabelRole role, std::vector<std::string>& dest) {
        YAML::Node node = root[key];
        if (!node) return;
        for (auto& [label, line] : string_list(node, key, file)) {
            std::string norm = normalize_label(label);
            auto it = owner.find(norm);
            if (it != owner.end()) {
                // The concept repeated among its synonyms is harmless; anything else is a contradiction.
                if (role == LabelRole::concept_label && it->second == "concept") {
                    dest.push_back(label);
                    continue;
                }
                if (it->second == key) throw Error("label \"" + label + "\" listed twice", file, line, key);
                throw Error("label \"" + label + "\" is already in " + it->second + "; a label can have one role only",
                            file, line, key);
            }
            owner[norm] = key;
            map.roles_[norm] = role;
            dest.push_back(label);
        }
    };
    take("synonyms", LabelRole::concept_label, map.synonyms_);
    take("background", LabelRole::background, map.background_);
    take("ambiguous", LabelRole::ambiguous, map.ambiguous_);
    return map;
}

LabelMap LabelMap::read(const std::filesystem::path& path, const std::string& default_concept) {
    return parse(read_file(path), path.string(), default_concept);
}

}  // namespace chickenseg
