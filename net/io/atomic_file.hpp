// Files that are either wholly old or wholly new: written to a temporary file in the same
// directory, flushed to disk, then renamed over the target. A crash mid-write leaves the
// previous version (or nothing), never half a file.
#pragma once
#include <optional>
#include <string>

#include "hashforge/types.hpp"

namespace hf::netio {

// Returns false with a one-line *why on failure (the target is then untouched).
bool write_file_atomic(const std::string& path, ByteView data, std::string* why);
inline bool write_file_atomic(const std::string& path, const std::string& text, std::string* why) {
  return write_file_atomic(path, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), why);
}
// The whole file, or nullopt with *why (missing, unreadable, larger than max_bytes).
std::optional<Bytes> read_file(const std::string& path, std::size_t max_bytes, std::string* why);

}  // namespace hf::netio
