#include <cstdio>
#include "engine/engine.hpp"
int main(){
  auto& e = hf::Engine::instance();
  for (auto& s : e.backends()) std::printf("%s avail=%d why=%s selftest=%s\n", s.name.c_str(), s.available, s.why_unavailable.c_str(), s.selftest.c_str());
}
