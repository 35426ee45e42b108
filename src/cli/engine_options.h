// The runtime's flags, spelled and checked the same way by every command that runs the engine
// (predict, mine, bench): --backend and --device, and the batching flags of the commands that
// stream images through it.
#pragma once

#include <cstddef>

#include <CLI/CLI.hpp>

#include "chickenseg/runtime/engine.h"

namespace chickenseg::cli {

inline void add_engine_options(CLI::App& cmd, EngineParams& engine) {
    cmd.add_option("--backend", engine.backend, "auto, torchscript or aoti")
        ->check(CLI::IsMember({"auto", "torchscript", "aoti"}))
        ->capture_default_str();
    cmd.add_option("--device", engine.device, "cpu, cuda, cuda:N (default: the package's)");
    cmd.add_flag("--cuda-graphs", engine.cuda_graphs,
                 "Replay the vision encoder and decoder as CUDA graphs, captured once per batch size (CUDA)");
}

inline void add_batching_options(CLI::App& cmd, size_t& batch_size, unsigned& threads) {
    cmd.add_option("--batch-size", batch_size, "Images per vision encoder run")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    cmd.add_option("--threads", threads, "Image decoding threads (0 = all cores)")->capture_default_str();
}

}  // namespace chickenseg::cli
