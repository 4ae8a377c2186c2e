// Hex encoding and strict decoding (errors are values, never exceptions on bad input).
#pragma once
#include <string>
#include <string_view>

#include "hashforge/types.hpp"

namespace hf {

std::string to_hex(ByteView b);
// Decodes hex; on failure returns nullopt and sets *why to a one-line reason.
std::optional<Bytes> from_hex(std::string_view s, std::string* why = nullptr);
std::string reversed_hex(ByteView b);  // byte-reversed, as Bitcoin displays hashes

}  // namespace hf
