#include "engineio/sid.hpp"

#include <openssl/rand.h>

#include <array>
#include <random>

#include "codec/base64.hpp"

namespace herald::engineio {
namespace {

using codec::base64url_decode;
using codec::base64url_encode;

constexpr size_t kSidBytes = 15;

void fill_random(unsigned char* out, size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) == 1) return;
  // OpenSSL's generator failing is near impossible; fall back rather than refuse connections.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<unsigned char>(generator());
}

std::string encode(const std::array<unsigned char, kSidBytes>& bytes) {
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace

std::string make_sid(SidRoute route) {
  std::array<unsigned char, kSidBytes> bytes{};
  fill_random(bytes.data(), bytes.size());
  bytes[0] = static_cast<unsigned char>(route.process >> 24);
  bytes[1] = static_cast<unsigned char>(route.process >> 16);
  bytes[2] = static_cast<unsigned char>(route.process >> 8);
  bytes[3] = static_cast<unsigned char>(route.process);
  bytes[4] = route.loop;
  return encode(bytes);
}

std::optional<SidRoute> parse_sid(std::string_view sid) {
  if (sid.size() != 20) return std::nullopt;
  auto bytes = base64url_decode(sid);
  if (!bytes || bytes->size() != kSidBytes) return std::nullopt;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>((*bytes)[i])); };
  return SidRoute{(byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3), static_cast<uint8_t>(byte(4))};
}

std::string random_id() {
  std::array<unsigned char, kSidBytes> bytes{};
  fill_random(bytes.data(), bytes.size());
  return encode(bytes);
}

uint32_t random_u32() {
  unsigned char bytes[4];
  fill_random(bytes, sizeof bytes);
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

}  // namespace herald::engineio
