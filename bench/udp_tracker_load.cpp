// A bounded UDP tracker load generator (BEP 15) for bench/tracker_vs_opentracker.sh: S
// sockets, each keeping W announces in flight for a fixed time, over T info-hashes and an
// ever-growing set of peers (a new port per announce). Two modes: `reuse` connects once per
// socket and reuses the connection id (refreshed every 50 s), `connect` does a connect
// before every announce, as a client whose id expired would. Reports announces/s and the
// p50/p99 latency of announce replies (in connect mode, from the connect's send). Lost
// datagrams (no reply within 1 s) are counted and replaced.
//
//   hf_udp_tracker_load --target 127.0.0.1:6969 [--seconds 10] [--mode reuse|connect]
//                       [--sockets 4] [--window 16] [--torrents 1000]
// Info-hash i (0 <= i < T) is 16 zero bytes and i + 1 big-endian: the script whitelists
// those for opentracker.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kProtocolId = 0x41727101980ULL;

struct Pending {
  Clock::time_point sent;
  bool is_connect;
  bool then_announce;  // connect mode: an announce follows this connect
};

struct Sock {
  int fd = -1;
  std::uint64_t conn = 0;
  Clock::time_point conn_at{};
  bool have_conn = false;
  std::unordered_map<std::uint32_t, Pending> pending;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "udp_tracker_load: %s\nusage: hf_udp_tracker_load --target IP:PORT [--seconds N] [--mode reuse|connect] "
               "[--sockets N] [--window N] [--torrents N]\n",
               why);
  std::exit(2);
}

void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
void put64(std::uint8_t* p, std::uint64_t v) {
  put32(p, static_cast<std::uint32_t>(v >> 32));
  put32(p + 4, static_cast<std::uint32_t>(v));
}
std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

int main(int argc, char** argv) {
  std::string target, mode = "reuse";
  double seconds = 10;
  int nsock = 4, window = 16;
  std::uint32_t torrents = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* v = argv[++i];
    if (a == "--target")
      target = v;
    else if (a == "--seconds")
      seconds = std::atof(v);
    else if (a == "--mode")
      mode = v;
    else if (a == "--sockets")
      nsock = std::atoi(v);
    else if (a == "--window")
      window = std::atoi(v);
    else if (a == "--torrents")
      torrents = static_cast<std::uint32_t>(std::atoi(v));
    else
      usage("unknown option");
  }
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) usage("--target IP:PORT");
  if (mode != "reuse" && mode != "connect") usage("--mode reuse or connect");
  if (nsock < 1 || nsock > 256 || window < 1 || window > 1024 || torrents < 1 || seconds <= 0 || seconds > 3600)
    usage("a value out of range");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(target.c_str() + colon + 1)));
  if (inet_pton(AF_INET, target.substr(0, colon).c_str(), &to.sin_addr) != 1) usage("bad target address");
  const bool reuse = mode == "reuse";

  std::vector<Sock> socks(static_cast<std::size_t>(nsock));
  std::vector<pollfd> pfds;
  for (auto& s : socks) {
    s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int buf = 1 << 20;
    setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (s.fd < 0 || connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) usage("cannot open a socket");
    pfds.push_back({s.fd, POLLIN, 0});
  }
  std::uint32_t next_tx = 1, next_peer = 0;
  std::vector<double> lat_us;
  lat_us.reserve(1 << 22);
  std::uint64_t announces = 0, lost = 0, errors = 0;

  auto send_connect = [&](Sock& s, bool then_announce, Clock::time_point started) {
    std::uint8_t p[16];
    put64(p, kProtocolId);
    put32(p + 8, 0);
    const std::uint32_t tx = next_tx++;
    put32(p + 12, tx);
    s.pending[tx] = {started, true, then_announce};
    send(s.fd, p, sizeof p, 0);
  };
  auto send_announce = [&](Sock& s, Clock::time_point started) {
    std::uint8_t p[98] = {};
    put64(p, s.conn);
    put32(p + 8, 1);
    const std::uint32_t tx = next_tx++;
    put32(p + 12, tx);
    const std::uint32_t peer = next_peer++;
    put32(p + 32, peer % torrents + 1);  // info-hash: 16 zero bytes, then i + 1
    std::memcpy(p + 36, "-HFLOAD-", 8);
    put32(p + 52, peer);                      // peer id: unique
    put64(p + 64, peer % 3 == 0 ? 0 : 1000);  // left: a third are seeders
    put32(p + 80, 2);                         // started
    put32(p + 92, 50);                        // numwant
    p[96] = static_cast<std::uint8_t>((1024 + peer % 60000) >> 8);
    p[97] = static_cast<std::uint8_t>(1024 + peer % 60000);
    s.pending[tx] = {started, false, false};
    send(s.fd, p, sizeof p, 0);
  };
  // One unit of work: an announce, with a connect first when needed.
  auto start_one = [&](Sock& s) {
    const auto now = Clock::now();
    if (!reuse || !s.have_conn || now - s.conn_at > std::chrono::seconds(50)) {
      if (reuse) s.have_conn = false;
      send_connect(s, true, now);
    } else {
      send_announce(s, now);
    }
  };

  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (auto& s : socks)
    for (int i = 0; i < (reuse ? 1 : window); ++i) start_one(s);
  auto last_sweep = t0;
  std::uint8_t buf[2048];
  while (Clock::now() < end) {
    poll(pfds.data(), pfds.size(), 50);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < socks.size(); ++i) {
      Sock& s = socks[i];
      for (;;) {
        const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
        if (n < 0) break;
        if (n < 8) continue;
        const std::uint32_t action = get32(buf), tx = get32(buf + 4);
        auto it = s.pending.find(tx);
        if (it == s.pending.end()) continue;  // a late reply to one counted lost
        const Pending pd = it->second;
        s.pending.erase(it);
        if (action == 0 && n >= 16) {
          s.conn = (std::uint64_t{get32(buf + 8)} << 32) | get32(buf + 12);
          s.have_conn = true;
          s.conn_at = now;
          send_announce(s, pd.sent);
          if (reuse)  // the window opens once the id is known
            while (static_cast<int>(s.pending.size()) < window) send_announce(s, now);
          continue;
        }
        if (action == 1) {
          ++announces;
          lat_us.push_back(std::chrono::duration<double, std::micro>(now - pd.sent).count());
        } else {
          ++errors;
        }
        start_one(s);
      }
    }
    if (now - last_sweep > std::chrono::milliseconds(200)) {
      last_sweep = now;
      for (auto& s : socks) {
        std::vector<std::uint32_t> old;
        for (const auto& [tx, pd] : s.pending)
          if (now - pd.sent > std::chrono::seconds(1)) old.push_back(tx);
        for (auto tx : old) {
          s.pending.erase(tx);
          ++lost;
          if (reuse) s.have_conn = false;
          start_one(s);
        }
      }
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double q) {
    return lat_us.empty() ? 0.0 : lat_us[std::min(lat_us.size() - 1, static_cast<std::size_t>(q * lat_us.size()))];
  };
  std::printf("mode %s sockets %d window %d: %.0f announces/s, p50 %.0f us, p99 %.0f us, %llu lost, %llu errors\n",
              mode.c_str(), nsock, window, announces / secs, pct(0.50), pct(0.99),
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(errors));
  for (auto& s : socks) close(s.fd);
  return announces > 0 ? 0 : 1;
}
