// Files that are either wholly old or wholly new: written to a temporary file in the same
// directory, flushed to disk, then renamed over the target. A crash mid-write leaves the
// previous version (or nothing), never half a file. And whole-file reads with a size cap.
#pragma once
#include <initializer_list>
#include <optional>
#include <string>

#include "hashforge/types.hpp"

namespace hf::netio {

// Returns false with a one-line *why on failure (the target is then untouched). A symbolic
// link the user owns is written through (the file it names is replaced), one owned by
// someone else is replaced itself; a device, pipe or socket is written in place and a
// standard stream (/dev/stdout, /dev/fd/N) through its descriptor (no atomicity there). The file
// holds the parts one after another (a result is often its input plus one line: no copy).
//
// `mode` is the permission a new file is created with (the umask applies, as to any new
// file); a file written over keeps its own permission bits, narrowed to `mode`'s read and
// write bits. kPrivateFile makes a secret (a key, a token) 0600 from its first byte on, never
// readable by others for a moment, and narrows an existing file to it.
inline constexpr unsigned kSharedFile = 0666;
inline constexpr unsigned kPrivateFile = 0600;
bool write_file_atomic(const std::string& path, std::initializer_list<ByteView> parts, std::string* why,
                       unsigned mode = kSharedFile);
inline bool write_file_atomic(const std::string& path, ByteView data, std::string* why, unsigned mode = kSharedFile) {
  return write_file_atomic(path, {data}, why, mode);
}
inline bool write_file_atomic(const std::string& path, const std::string& text, std::string* why,
                              unsigned mode = kSharedFile) {
  return write_file_atomic(path, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), why, mode);
}

// Whether write_file_atomic(path, ...) can work, checked before a long computation whose
// result would otherwise be lost: false with *why if path is a directory or its directory
// does not let us create a file there (tried for real, so it holds for root and read-only
// mounts too).
bool check_writable(const std::string& path, std::string* why);

// The whole file, or nullopt with a one-line *why naming the file (missing, unreadable, a
// directory, or larger than max_bytes). The cap is checked while reading, so a device or
// pipe that never ends (/dev/zero) costs at most max_bytes of memory; a regular file over the
// cap is refused by its size before any byte is read. A regular file is read into a buffer
// of its exact size, plus `spare` bytes of capacity for a caller that appends to it.
std::optional<Bytes> read_file(const std::string& path, std::size_t max_bytes, std::string* why, std::size_t spare = 0);

// "64 MiB", "1 GiB", or "1000 bytes": caps in messages.
std::string size_text(std::size_t bytes);

}  // namespace hf::netio
