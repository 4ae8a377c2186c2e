// Header work for local testing and benchmarks: a JSON file with the fields
// of mining.notify, one job or {"jobs": [...]}. Example: examples/jobs/block100000.json.
//   prevhash, coinb1, coinb2, merkle_branch, version, nbits  as mining.notify sends them
//   ntime            8 hex digits, or "now" for the time each issue of the job is made
//   extranonce2_size optional, bytes (default 4); with the 4-byte extranonce1 the
//                    coordinator gives each connection, the coinbase must have room for both
// Pure code: the caller reads the file.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/mining/stratum_job.hpp"

namespace hf::mining {

struct JobTemplate {
  StratumJob job;  // id and clean are set when issued
  bool ntime_now = false;
  std::size_t extranonce2_size = 4;
};

// The jobs in the file, or nullopt with a one-line reason naming the job and field.
std::optional<std::vector<JobTemplate>> parse_job_file(std::string_view text, std::string* why);

}  // namespace hf::mining
