// mining.notify's params as JSON, both ways: the coordinator sends jobs with it, and the
// worker's pool client and the coordinator's upstream link read them. Pure code.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>

#include "net/mining/stratum_job.hpp"

namespace hf::stratum {

// [job_id, prevhash, coinb1, coinb2, [branch...], version, nbits, ntime, clean_jobs]
boost::json::array notify_params(const mining::StratumJob& job);
// The job, or nullopt with a one-line reason (wrong shape, bad hex, oversized parts).
std::optional<mining::StratumJob> job_from_notify(const boost::json::array& params, std::string* why);

}  // namespace hf::stratum
