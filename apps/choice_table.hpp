// Printing the measured backend choice (`hashforge backends`, `hashforge bench --calibrate`).
#pragma once
#include <boost/json.hpp>

#include "hashforge/engine.hpp"

namespace hf::cli {

// The rates as a table, one task a row, one backend a column, the fastest marked.
void print_choice_table(const BackendChoice& c);
boost::json::object choice_json(const BackendChoice& c);

}  // namespace hf::cli
