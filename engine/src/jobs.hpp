// The schedulers behind Engine::search and Engine::hash_batch. They throw JobError (and
// whatever a backend or a caller's callback throws); the Engine turns that into a Result.
#pragma once
#include "hashforge/engine.hpp"

namespace hf {

SearchResult run_search(Engine::Impl& eng, const SearchJob& job, const RunOptions& opt);
BatchStats run_hash_batch(Engine::Impl& eng, Algo algo, MessageSource& src, const DigestSink& out,
                          const BatchOptions& opt);

}  // namespace hf
