#include "apps/choice_table.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace hf::cli {

namespace {
std::string human_rate(double r, const std::string& unit) {
  char buf[48];
  if (unit == "bytes/s") {
    if (r >= 1e9)
      std::snprintf(buf, sizeof buf, "%.2f GB/s", r / 1e9);
    else
      std::snprintf(buf, sizeof buf, "%.0f MB/s", r / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f M/s", r / 1e6);
  }
  return buf;
}

boost::json::array rates_json(const std::vector<MeasuredRate>& rates) {
  boost::json::array a;
  for (const MeasuredRate& m : rates)
    a.push_back({{"task", m.task}, {"backend", m.backend}, {"rate", m.rate}, {"unit", m.unit}});
  return a;
}
}  // namespace

void print_choice_table(const BackendChoice& c) {
  std::printf("Measured choice: %s\n", c.source.c_str());
  if (!c.cache_note.empty()) std::printf("  (%s)\n", c.cache_note.c_str());
  std::vector<std::string> tasks, backends;
  auto add = [](std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v)
      if (x == s) return;
    v.push_back(s);
  };
  for (const MeasuredRate& m : c.rates) {
    add(tasks, m.task);
    add(backends, m.backend);
  }
  if (tasks.empty()) {
    std::printf("  (no rates: the fixed ranks choose)\n");
  } else {
    std::printf("%-16s", "TASK (1 thread)");
    for (const auto& b : backends) std::printf(" %-12s", b.c_str());
    std::printf(" FASTEST\n");
    for (const auto& t : tasks) {
      std::printf("%-16s", t.c_str());
      std::string fastest;
      double top = 0;
      for (const auto& b : backends) {
        const MeasuredRate* hit = nullptr;
        for (const MeasuredRate& m : c.rates)
          if (m.task == t && m.backend == b) hit = &m;
        std::printf(" %-12s", hit ? human_rate(hit->rate, hit->unit).c_str() : "-");
        if (hit && hit->rate > top) {
          top = hit->rate;
          fastest = b;
        }
      }
      std::printf(" %s\n", fastest.c_str());
    }
    std::printf("(search: nonces; hash: bytes; sha256-pairs: 64-byte messages, one Merkle layer)\n");
  }
  for (const MeasuredRate& m : c.whole_machine)
    std::printf("whole machine, %s on %s: %s\n", m.task.c_str(), m.backend.c_str(), human_rate(m.rate, m.unit).c_str());
}

boost::json::object choice_json(const BackendChoice& c) {
  return {{"source", c.source},
          {"key", c.key},
          {"cache_note", c.cache_note},
          {"rates", rates_json(c.rates)},
          {"whole_machine", rates_json(c.whole_machine)}};
}

}  // namespace hf::cli
