// Each subcommand registers its options and, when chosen, the function that runs it.
#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace hf::cli {

using Runner = std::function<int()>;
void add_backends(CLI::App& app, Runner& run);
void add_hash(CLI::App& app, Runner& run);
void add_search(CLI::App& app, Runner& run);
void add_bench(CLI::App& app, Runner& run);
void add_coordinator(CLI::App& app, Runner& run);
void add_worker(CLI::App& app, Runner& run);
void add_node(CLI::App& app, Runner& run);
void add_tracker(CLI::App& app, Runner& run);
void add_torrent(CLI::App& app, Runner& run);
void add_auction(CLI::App& app, Runner& run);

}  // namespace hf::cli
