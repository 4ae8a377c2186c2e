// The coordinator's live jobs: the ones a share may still name. A clean job (new
// prevhash) ends every older one; otherwise the newest `keep` stay live, so a worker still
// finishing the previous ntime refresh is not told its shares are stale.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "net/mining/stratum_job.hpp"

namespace hf::mining {

class JobBook {
 public:
  explicit JobBook(std::size_t keep = 4, std::uint32_t first_id = 1) : keep_(keep ? keep : 1), next_id_(first_id) {}
  // Gives the job the next id and makes it current; `dropped` gets the ids no longer live.
  std::shared_ptr<const StratumJob> add(StratumJob job, std::vector<std::string>* dropped);
  // Ends every live job (the job source changed); `dropped` gets their ids.
  void clear(std::vector<std::string>* dropped);
  const StratumJob* find(const std::string& id) const;
  std::shared_ptr<const StratumJob> current() const { return live_.empty() ? nullptr : live_.back(); }
  std::size_t live() const { return live_.size(); }

 private:
  std::size_t keep_;
  std::uint32_t next_id_;
  std::deque<std::shared_ptr<const StratumJob>> live_;  // oldest first
};

}  // namespace hf::mining
