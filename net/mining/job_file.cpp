#include "net/mining/job_file.hpp"

#include <boost/json.hpp>

namespace hf::mining {

namespace json = boost::json;

namespace {

std::optional<JobTemplate> parse_one(const json::value& v, std::string* why) {
  if (!v.is_object()) {
    *why = "a job must be a JSON object";
    return std::nullopt;
  }
  const json::object& o = v.as_object();
  NotifyFields f;
  auto str = [&](const char* key, std::string* out) {
    const json::value* x = o.if_contains(key);
    if (!x || !x->is_string()) {
      *why = std::string("field '") + key + "' must be a string";
      return false;
    }
    *out = x->as_string();
    return true;
  };
  if (!str("prevhash", &f.prevhash) || !str("coinb1", &f.coinb1) || !str("coinb2", &f.coinb2) ||
      !str("version", &f.version) || !str("nbits", &f.nbits) || !str("ntime", &f.ntime))
    return std::nullopt;
  if (const json::value* b = o.if_contains("merkle_branch")) {
    if (!b->is_array()) {
      *why = "field 'merkle_branch' must be an array of hex strings";
      return std::nullopt;
    }
    for (const json::value& h : b->as_array()) {
      if (!h.is_string()) {
        *why = "field 'merkle_branch' must be an array of hex strings";
        return std::nullopt;
      }
      f.merkle_branch.emplace_back(h.as_string());
    }
  }
  JobTemplate t;
  t.ntime_now = f.ntime == "now";
  if (t.ntime_now) f.ntime = "00000000";
  if (const json::value* e = o.if_contains("extranonce2_size")) {
    if (!e->is_int64() || e->as_int64() < 1 || e->as_int64() > 16) {
      *why = "field 'extranonce2_size' must be an integer 1..16";
      return std::nullopt;
    }
    t.extranonce2_size = static_cast<std::size_t>(e->as_int64());
  }
  f.job_id = "file";
  auto job = parse_notify(f, why);
  if (!job) return std::nullopt;
  t.job = std::move(*job);
  return t;
}

}  // namespace

std::optional<std::vector<JobTemplate>> parse_job_file(std::string_view text, std::string* why_out) {
  std::string scratch;
  std::string* why = why_out ? why_out : &scratch;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    *why = "not valid JSON: " + ec.message();
    return std::nullopt;
  }
  std::vector<JobTemplate> out;
  if (v.is_object() && v.as_object().contains("jobs")) {
    const json::value& jobs = v.as_object().at("jobs");
    if (!jobs.is_array() || jobs.as_array().empty()) {
      *why = "'jobs' must be a non-empty array";
      return std::nullopt;
    }
    for (std::size_t i = 0; i < jobs.as_array().size(); ++i) {
      auto t = parse_one(jobs.as_array()[i], why);
      if (!t) {
        *why = "job " + std::to_string(i) + ": " + *why;
        return std::nullopt;
      }
      out.push_back(std::move(*t));
    }
  } else {
    auto t = parse_one(v, why);
    if (!t) return std::nullopt;
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace hf::mining
