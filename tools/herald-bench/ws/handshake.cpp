#include "ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>

#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/error.hpp>

namespace herald::bench::ws {
namespace {

namespace http = boost::beast::http;
using boost::beast::websocket::error;

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, size_t size) {
  std::string text(4 * ((size + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), data, static_cast<int>(size));
  return text;
}

bool has_token(const UpgradeResponse& response, http::field field, std::string_view token) {
  auto found = response.find(field);
  return found != response.end() && http::token_list{found->value()}.exists(token);
}

}  // namespace

std::string make_key(std::minstd_rand& random) {
  std::array<unsigned char, 16> nonce{};
  for (auto& byte : nonce) byte = static_cast<unsigned char>(random());
  return base64(nonce.data(), nonce.size());
}

std::string accept_for(std::string_view key) {
  std::string text(key);
  text += kAcceptGuid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return base64(digest.data(), digest.size());
}

std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key) {
  std::string request;
  request.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  request.append("\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: ").append(key);
  request.append("\r\nSec-WebSocket-Version: 13\r\nUser-Agent: " BOOST_BEAST_VERSION_STRING "\r\n\r\n");
  return request;
}

boost::system::error_code check_upgrade(const UpgradeResponse& response, std::string_view key) {
  if (response.result() != http::status::switching_protocols) return error::upgrade_declined;
  if (response.version() != 11) return error::bad_http_version;
  if (response.find(http::field::connection) == response.end()) return error::no_connection;
  if (!has_token(response, http::field::connection, "upgrade")) return error::no_connection_upgrade;
  if (response.find(http::field::upgrade) == response.end()) return error::no_upgrade;
  if (!has_token(response, http::field::upgrade, "websocket")) return error::no_upgrade_websocket;
  auto accept = response.find(http::field::sec_websocket_accept);
  if (accept == response.end()) return error::no_sec_accept;
  if (accept->value() != accept_for(key)) return error::bad_sec_accept;
  return {};
}

}  // namespace herald::bench::ws
