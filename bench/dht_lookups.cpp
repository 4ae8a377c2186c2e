// DHT figures on a simulated network (net/torrent/dht_sim): N nodes join one after another
// through a few entry nodes, then announce and look up random info-hashes. Prints the CPU
// model, the network's build cost, each node's routing-table size and memory, and for the
// lookups: how many a second the whole simulated network processes on one core (every
// node's encoding, decoding and table work counted), queries and simulated time per lookup,
// and whether announced peers were found.
//
//   hf_dht_bench [NODES=10000] [LOOKUPS=2000] [SEED=1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "net/torrent/dht_sim.hpp"

namespace dht = hf::torrent::dht;

namespace {

double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const std::size_t lookups = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2000;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  std::printf("# DHT on a simulated network\n\nCPU: %s\nnodes: %zu, lookups: %zu, seed %llu, one-way latency 20-40 ms, no loss\n\n",
              cpu_model().c_str(), n, lookups, static_cast<unsigned long long>(seed));

  const long rss0 = rss_kib();
  double t0 = cpu_s();
  dht::SimNetwork::Options o;
  // Nodes tick once a simulated second (timeouts and upkeep); with no loss nothing times
  // out, so the figures below are the lookups' own work.
  o.tick_ms = 1000;
  dht::SimNetwork net(o, seed);
  for (std::size_t i = 0; i < n; ++i) net.add_node();
  // Joins in waves, as nodes arrive over time: each through one of 16 entry nodes.
  for (std::size_t i = 1; i < n; ++i) {
    net.join(i, i < 16 ? 0 : i % 16);
    if (i % 100 == 0) net.run([] { return false; }, 500);
  }
  net.run([] { return false; }, 20'000);
  const double build_cpu = cpu_s() - t0;
  const long rss1 = rss_kib();
  const std::uint64_t build_msgs = net.delivered();

  std::vector<std::size_t> sizes;
  std::size_t table_bytes = 0, node_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sizes.push_back(net.node(i).table().size());
    table_bytes += net.node(i).table().memory_bytes();
    node_bytes += net.node(i).memory_bytes();
  }
  std::sort(sizes.begin(), sizes.end());
  const double mean = std::accumulate(sizes.begin(), sizes.end(), 0.0) / static_cast<double>(n);
  std::printf("## Building the network\n\n| what | value |\n|---|---|\n");
  std::printf("| CPU time to join %zu nodes | %.2f s (%llu datagrams) |\n", n, build_cpu,
              static_cast<unsigned long long>(build_msgs));
  std::printf("| routing table entries per node: min / median / mean / max | %zu / %zu / %.1f / %zu |\n", sizes.front(),
              sizes[n / 2], mean, sizes.back());
  std::printf("| routing table memory per node (mean, heap bytes) | %.0f bytes |\n",
              static_cast<double>(table_bytes) / static_cast<double>(n));
  std::printf("| whole node memory per node (table, peers, rate limits, mean) | %.0f bytes |\n",
              static_cast<double>(node_bytes) / static_cast<double>(n));
  std::printf("| process RSS for the %zu-node network | %.1f MiB (%.1f KiB a node) |\n\n", n,
              static_cast<double>(rss1 - rss0) / 1024, static_cast<double>(rss1 - rss0) / static_cast<double>(n));

  // Lookups: the first half announce a random info-hash from a random node; the second half
  // look those hashes up from other random nodes. 64 run at once.
  std::mt19937_64 rng(seed * 7919);
  std::vector<dht::NodeId> hashes(lookups / 2);
  for (auto& h : hashes)
    for (auto& b : h) b = static_cast<std::uint8_t>(rng());
  std::size_t started = 0, finished = 0, found = 0, queried = 0;
  std::vector<double> latency;
  const std::uint64_t msgs0 = net.delivered();
  t0 = cpu_s();
  const std::int64_t sim0 = net.now();
  auto launch = [&] {
    while (started < lookups && started - finished < 64) {
      const std::size_t k = started++;
      const bool announce = k < hashes.size();
      const dht::NodeId& h = hashes[k % hashes.size()];
      const std::size_t from = static_cast<std::size_t>(rng() % n);
      auto peers = std::make_shared<bool>(false);
      const std::int64_t at = net.now();
      net.node(from).get_peers(
          h, announce ? 6881 : 0, false, [peers](const std::vector<dht::PeerAddr>&) { *peers = true; },
          [&, peers, announce, at](const dht::LookupResult& r) {
            ++finished;
            queried += r.queried;
            latency.push_back(static_cast<double>(net.now() - at));
            if (!announce && *peers) ++found;
          },
          net.now());
      net.flush(from);
    }
  };
  launch();
  net.run(
      [&] {
        launch();
        return finished == lookups;
      },
      3'600'000);
  const double look_cpu = cpu_s() - t0;
  const std::int64_t sim_span = net.now() - sim0;
  // The same simulated time with no lookups: every node's upkeep (ticks), to subtract.
  t0 = cpu_s();
  net.run([] { return false; }, sim_span);
  const double idle_cpu = cpu_s() - t0;
  const double net_cpu = std::max(look_cpu - idle_cpu, 1e-9);
  std::sort(latency.begin(), latency.end());
  const std::size_t searched = lookups - hashes.size();
  std::printf("## Lookups (get_peers, iterative, alpha 3, k 8)\n\n| what | value |\n|---|---|\n");
  std::printf("| lookups done | %zu of %zu (%zu announcing, %zu searching) |\n", finished, lookups, hashes.size(), searched);
  const std::uint64_t look_msgs = net.delivered() - msgs0;
  std::printf("| lookups a second, whole network on one core (all %zu nodes' upkeep included) | %.0f |\n", n,
              static_cast<double>(finished) / look_cpu);
  std::printf("| lookups a second, the lookups' own work (upkeep of an idle run subtracted: %.2f s) | %.0f |\n",
              idle_cpu, static_cast<double>(finished) / net_cpu);
  std::printf("| CPU per lookup, every node's work for it | %.1f us (%.1f datagrams, %.2f us each) |\n",
              net_cpu / static_cast<double>(finished) * 1e6, static_cast<double>(look_msgs) / static_cast<double>(finished),
              net_cpu / static_cast<double>(look_msgs) * 1e6);
  std::printf("| queries sent per lookup (mean) | %.1f |\n", static_cast<double>(queried) / static_cast<double>(finished));
  std::printf("| simulated time per lookup: median / 95th percentile | %.0f / %.0f ms |\n", latency[latency.size() / 2],
              latency[latency.size() * 95 / 100]);
  std::printf("| searches that found the announced peer | %zu of %zu |\n", found, searched);
  std::printf("| simulated time for all lookups | %.1f s |\n", static_cast<double>(sim_span) / 1000);
  return finished == lookups && found == searched ? 0 : 1;
}
