// Option checks run by CLI11 while it parses: a bad value is one line on stderr and exit
// code 2 before anything starts (no listener bound, no file read, no search begun). Every
// number is checked against its range (NaN and infinities fail, and a negative number can
// never wrap into an unsigned option), every name and path for being non-empty, every
// address for its port.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace hf::cli::check {

// The longest durations options take, in seconds, stated in --help.
inline constexpr double kDay = 86'400;
inline constexpr double kWeek = 7 * kDay;    // connection timeouts
inline constexpr double kYear = 365 * kDay;  // run lengths and budgets
inline constexpr double kFileSeconds = 1e7;  // a file task round (about 16 weeks)

// A finite number of seconds in [lo, hi] (lo itself excluded when open_lo); zero_ok also
// takes exactly 0, which such options read as "none" or "no limit".
CLI::Validator seconds(double lo, double hi, bool open_lo = false, bool zero_ok = false);
// A finite number in [lo, hi] (lo excluded when open_lo).
CLI::Validator number(double lo, double hi, bool open_lo = false);
// A finite number above zero.
CLI::Validator positive();
// A whole number in decimal digits (no sign, no fraction) in [lo, hi].
CLI::Validator whole(std::uint64_t lo, std::uint64_t hi);
// Text of lo..hi bytes (a path, a name, a backend list).
CLI::Validator text(std::size_t lo, std::size_t hi);
inline CLI::Validator non_empty() { return text(1, 4096); }
// A file task identifier: 1..64 printable ASCII characters.
CLI::Validator identifier();
// ADDRESS:PORT to listen on: an IP address (IPv6 in brackets; empty means every IPv4
// address) and a port 0..65535 (0: the system picks one).
CLI::Validator listen_address();
// [HOST:]PORT for the plain protocol's server (PORT alone, or HOST: for port 50010).
CLI::Validator seed_listen_address();
// HOST:PORT to send to workers: a host name or address and a port 1..65535.
CLI::Validator connect_address();
// A pool URL: stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT, port 1..65535;
// with_seed also takes seed://HOST[:PORT] (the worker's plain-protocol client).
CLI::Validator pool_url(bool with_seed = false);

}  // namespace hf::cli::check
