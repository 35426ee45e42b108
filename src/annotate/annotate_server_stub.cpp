// The annotator's server where CMake did not find cpp-httplib: it says how to get it.
#include "chickenseg/annotate/annotate_server.h"

namespace chickenseg {

struct AnnotateServer::Impl {};

AnnotateServer::AnnotateServer(const Engine&, const std::filesystem::path&, const AnnotateParams&) {
    throw Error(
        "this chickenseg was built without cpp-httplib, so `annotate` cannot serve: install it "
        "(Debian: apt-get install libcpp-httplib-dev, as scripts/setup does) and rebuild");
}

AnnotateServer::~AnnotateServer() = default;
int AnnotateServer::port() const { return 0; }
const std::string& AnnotateServer::token() const {
    static const std::string none;
    return none;
}
std::string AnnotateServer::url() const { return {}; }
const AnnotateFolder& AnnotateServer::folder() const { throw Error("annotate: built without cpp-httplib"); }
void AnnotateServer::run(bool) {}
void AnnotateServer::stop() {}

}  // namespace chickenseg
