// `hashforge backends`: every backend, whether it is usable and why, which one each
// operation would use, and the measured rates behind that choice.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>

#include "apps/choice_table.hpp"
#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"

namespace hf::cli {

namespace {
struct Opts {
  bool json = false;
  std::string backend;
};

int run_backends(const Opts& o) {
  Engine& e = Engine::instance();
  e.probe_devices();
  boost::json::object chosen;
  for (Op op : kAllOps) {
    const std::string key(op_name(op));
    if (auto b = e.backend(o.backend); !o.backend.empty() && b && b->usable() && !b->supports(op)) {
      chosen[key] = "(not supported by " + o.backend + ")";
      continue;
    }
    if (o.backend == "all" || o.backend.find(',') != std::string::npos) {
      std::string joined;
      const std::vector<std::string> names = e.choose_list(op, o.backend).value();
      for (const std::string& n : names) joined += (joined.empty() ? "" : "+") + n;
      chosen[key] = joined;
      continue;
    }
    chosen[key] = e.choose(op, o.backend).value();
  }
  const std::string cpu = e.cpu_model();
  const BackendChoice measured = e.backend_choice();
  if (o.json) {
    boost::json::array arr;
    for (const BackendStatus& s : e.backends())
      arr.push_back({{"name", s.name},
                     {"description", s.description},
                     {"lanes", s.lanes},
                     {"available", s.available},
                     {"why_unavailable", s.why_unavailable},
                     {"selftest", s.selftest},
                     {"usable", s.usable()},
                     {"device", s.device},
                     {"ops", [&] {
                        boost::json::array ops;
                        for (Op op : s.ops) ops.emplace_back(op_name(op));
                        return ops;
                      }()}});
    print_json(boost::json::object{{"cpu", cpu},
                                   {"backends", arr},
                                   {"chosen", chosen},
                                   {"measured", choice_json(measured)},
                                   {"devices_note", e.devices_note()}});
    return 0;
  }
  std::printf("CPU: %s\n\n", cpu.empty() ? "(unknown)" : cpu.c_str());
  std::printf("%-10s %-6s %-5s %-10s %s\n", "BACKEND", "LANES", "USE", "SELF-TEST", "DESCRIPTION / WHY NOT");
  for (const BackendStatus& s : e.backends())
    std::printf("%-10s %-6u %-5s %-10s %s\n", s.name.c_str(), s.lanes, s.usable() ? "yes" : "no",
                s.available ? (s.selftest_ok ? "passed" : "FAILED") : "not run",
                s.available ? (s.selftest_ok ? s.description.c_str() : s.selftest.c_str()) : s.why_unavailable.c_str());
  if (!e.devices_note().empty()) std::printf("(devices: %s)\n", e.devices_note().c_str());
  std::printf("\nOperation        Backend%s\n", o.backend.empty() ? "" : " (forced)");
  for (auto& [op, name] : chosen) std::printf("%-16s %s\n", std::string(op).c_str(), name.as_string().c_str());
  std::printf("\n");
  print_choice_table(measured);
  return 0;
}
}  // namespace

void add_backends(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub =
      app.add_subcommand("backends", "List backends, their self-test results, and the choice per operation");
  sub->add_flag("--json", o->json, "Machine-readable output");
  sub->add_option("--backend", o->backend, "Show the choice with this backend forced")->check(check::non_empty());
  sub->callback([o, &run] { run = [o] { return run_backends(*o); }; });
}

}  // namespace hf::cli
