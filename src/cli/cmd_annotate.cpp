// `chickenseg annotate`: the local web annotator over a folder to annotate (docs/annotate.md).
// Parsing and printing only; the server is in annotate/.
#include <iostream>
#include <memory>

#include "chickenseg/annotate/annotate_server.h"
#include "command.h"
#include "engine_options.h"

namespace chickenseg::cli {
namespace {

struct AnnotateOptions {
    std::string package;
    std::string folder;
    EngineParams engine = engine_default_params();
    AnnotateParams params = annotate_default_params();
};

int run_annotate(const AnnotateOptions& o) {
    // The folder is opened (and refused) before LibTorch loads.
    AnnotateFolder check(o.folder);
    Engine engine(o.package, o.engine);
    AnnotateServer server(engine, o.folder, o.params);
    const size_t total = server.folder().images().size(), done = server.folder().reviewed_count();
    if (global_options().json) {
        std::cout << json{{"url", server.url()}, {"port", server.port()}, {"images", total}, {"done", done}}.dump()
                  << std::endl;
    } else {
        std::cout << "annotate: " << total << " images in " << o.folder << " (" << done << " done), model " << o.package
                  << " (" << engine.description() << ")\n"
                  << "  open " << server.url() << "\n  (the token in the link is the only access; Ctrl-C stops)"
                  << std::endl;
    }
    if (o.params.host != "127.0.0.1" && o.params.host != "localhost" && o.params.host != "::1")
        std::cerr << "warning: listening on " << o.params.host
                  << ": anyone who can reach it and has the link can read and write the folder\n";
    server.run(/*until_signal=*/true);
    return 0;
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "annotate", "Review and correct a folder to annotate in the browser: delete, accept, no chicken, click-to-mask",
    56, [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<AnnotateOptions>();
        cmd.add_option("folder", o->folder, "Folder to annotate (chickenseg mine --out): images + LabelMe files")
            ->required()
            ->check(CLI::ExistingDirectory);
        cmd.add_option("--package", o->package, "Model package folder (chickenseg model export): click-to-mask")
            ->required()
            ->check(CLI::ExistingDirectory);
        cmd.add_option("--host", o->params.host, "Address to listen on")->capture_default_str();
        cmd.add_option("--port", o->params.port, "Port (0: any free port, printed)")
            ->check(CLI::Range(0, 65535))
            ->capture_default_str();
        cmd.add_option("--token", o->params.token, "Access token (default: a random one)");
        cmd.add_option("--prompt", o->params.prompt, "Concept prompt of the package (default: its first)");
        cmd.add_option("--cache-images", o->params.cache_images, "Images whose encoder features are kept")
            ->check(CLI::Range(1, 100000))
            ->capture_default_str();
        cmd.add_option("--max-body", o->params.max_body_bytes, "Largest request body in bytes")
            ->check(CLI::Range(1024, 1 << 30))
            ->capture_default_str();
        cmd.add_option("--mask-threshold", o->params.mask_threshold,
                       "On the mask probabilities (default: the package's thresholds.mask)")
            ->check(CLI::Range(0.0, 1.0));
        add_engine_options(cmd, o->engine);
        return [o]() { return run_annotate(*o); };
    }}};

}  // namespace
}  // namespace chickenseg::cli
