#include "net/io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace hf::netio {

namespace fs = std::filesystem;

bool write_file_atomic(const std::string& path, ByteView data, std::string* why) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    *why = tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  const bool ok =
      std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int err = errno;
  std::fclose(f);
  std::error_code ec;
  if (!ok) {
    fs::remove(tmp, ec);
    *why = path + ": write failed: " + std::strerror(err);
    return false;
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    *why = path + ": cannot replace: " + ec.message();
    return false;
  }
  return true;
}

std::optional<Bytes> read_file(const std::string& path, std::size_t max_bytes, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > max_bytes) {
    *why = path + ": larger than " + std::to_string(max_bytes) + " bytes";
    return std::nullopt;
  }
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *why = path + ": read error";
    return std::nullopt;
  }
  if (data.size() > max_bytes) {
    *why = path + ": larger than " + std::to_string(max_bytes) + " bytes";
    return std::nullopt;
  }
  return data;
}

}  // namespace hf::netio
