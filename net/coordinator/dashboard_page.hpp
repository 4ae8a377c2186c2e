// The dashboard page, compiled into the binary from dashboard.html at build time.
#pragma once
#include <string>

namespace hf::coord {
const std::string& dashboard_html();
}
