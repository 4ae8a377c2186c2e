#include "net/mining/job_book.hpp"

#include <cstdio>

namespace hf::mining {

std::shared_ptr<const StratumJob> JobBook::add(StratumJob job, std::vector<std::string>* dropped) {
  char id[16];
  std::snprintf(id, sizeof id, "%x", next_id_++);
  job.id = id;
  auto drop_front = [&] {
    if (dropped) dropped->push_back(live_.front()->id);
    live_.pop_front();
  };
  if (job.clean)
    while (!live_.empty()) drop_front();
  while (live_.size() >= keep_) drop_front();
  live_.push_back(std::make_shared<const StratumJob>(std::move(job)));
  return live_.back();
}

void JobBook::clear(std::vector<std::string>* dropped) {
  for (const auto& j : live_)
    if (dropped) dropped->push_back(j->id);
  live_.clear();
}

const StratumJob* JobBook::find(const std::string& id) const {
  for (auto it = live_.rbegin(); it != live_.rend(); ++it)
    if ((*it)->id == id) return it->get();
  return nullptr;
}

}  // namespace hf::mining
