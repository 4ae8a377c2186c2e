// hashforge: one command, one subcommand per file in apps/.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "apps/cli_util.hpp"
#include "apps/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"hashforge: SHA-1 / SHA-256 / SHA-256d hashing and nonce search on every CPU and GPU backend"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hashforge 0.1.0");
  hf::cli::Runner run;
  hf::cli::add_backends(app, run);
  hf::cli::add_hash(app, run);
  hf::cli::add_search(app, run);
  hf::cli::add_bench(app, run);
  hf::cli::add_coordinator(app, run);
  hf::cli::add_worker(app, run);
  hf::cli::add_node(app, run);
  hf::cli::add_tracker(app, run);
  hf::cli::add_torrent(app, run);
  hf::cli::add_auction(app, run);
  if (argc > 1 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::Error&) {
      // The list comes from the registered subcommands, so a new one is never left out.
      std::string names;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        names += (names.empty() ? "" : ", ") + sub->get_name();
      std::fprintf(stderr, "hashforge: unknown command '%s' (commands: %s)\n", argv[1], names.c_str());
      return hf::cli::kExitUsage;
    }
  }
  // A full disk or closed pipe on stdout is a failure, as it is for coreutils.
  auto stdout_failed = [] {
    std::cout.flush();
    if (std::fflush(stdout) == 0 && !std::ferror(stdout) && std::cout) return false;
    std::fprintf(stderr, "hashforge: write error on standard output\n");
    return true;
  };
  auto help_exit = [&](const CLI::Error& e) {
    const int rc = app.exit(e);  // the help or version text, on stdout
    return stdout_failed() ? hf::cli::kExitFailure : rc;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all and --version too (all derive from it)
    return help_exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "hashforge: %s (see hashforge --help)\n", msg.c_str());
    return hf::cli::kExitUsage;
  }
  try {
    const int rc = run();
    return stdout_failed() ? hf::cli::kExitFailure : rc;
  } catch (const hf::cli::CliError& e) {
    std::fprintf(stderr, "hashforge: %s\n", e.what());
    return e.code;
  } catch (const hf::JobError& e) {
    std::fprintf(stderr, "hashforge: %s\n", e.what());
    return hf::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hashforge: %s\n", e.what());
    return hf::cli::kExitFailure;
  }
}
