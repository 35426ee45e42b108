#include "chickenseg/core/jsonl_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace fs = std::filesystem;

JsonlWriter::JsonlWriter(const fs::path& path, bool append) : path_(path) {
    file_ = std::fopen(path.c_str(), append ? "ab" : "wb");
    if (!file_) throw Error("cannot write: " + std::string(std::strerror(errno)), path.string());
}

JsonlWriter::~JsonlWriter() {
    if (file_) std::fclose(file_);
}

void JsonlWriter::write(const json& value) {
    std::string line = value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
        throw Error("cannot write: " + std::string(std::strerror(errno)), path_.string());
}

size_t read_jsonl_file(const fs::path& path, const std::function<void(const json&, long)>& visit, bool cut_partial) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read: " + std::string(std::strerror(errno)), path.string());
    std::string text;
    uintmax_t complete = 0;  // bytes up to the end of the last complete line
    long line = 0;
    size_t visited = 0;
    while (std::getline(in, text)) {
        if (in.eof()) break;  // no newline after it: the line a kill cut off
        ++line;
        complete += text.size() + 1;
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        visit(parse_json_text(text, path.string() + ":" + std::to_string(line)), line);
        ++visited;
    }
    in.close();
    if (cut_partial && fs::file_size(path, ec) > complete && !ec) {
        fs::resize_file(path, complete, ec);
        if (ec) throw Error("cannot cut the unfinished last line: " + ec.message(), path.string());
    }
    return visited;
}

}  // namespace chickenseg
