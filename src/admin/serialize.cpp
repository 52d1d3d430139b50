#include "admin/serialize.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "net/http.hpp"

namespace herald::admin {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_time(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", utc, ms % 1000);
}

namespace {

// As JavaScript's Date.prototype.toString() in UTC, which socket.io puts in handshake.time.
std::string date_text(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:%a %b %d %Y %H:%M:%S} GMT+0000 (Coordinated Universal Time)", utc);
}

Json headers_object(const net::Headers& headers) {
  Json object = Json::object();
  for (const auto& [name, value] : headers)
    if (!object.contains(name)) object[name] = value;
  return object;
}

}  // namespace

std::string client_id(std::string_view session_id) {
  // socket.io shows the first 12 characters of the Engine.IO id; Herald's begin with the process
  // and loop that own the session, so its last 12 (random) tell clients apart.
  return std::string(session_id.substr(session_id.size() > 12 ? session_id.size() - 12 : 0));
}

Json query_object(std::string_view query) {
  Json object = Json::object();
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = net::percent_decode(pair.substr(0, eq));
    if (object.contains(key)) continue;
    object[key] = eq == std::string_view::npos ? std::string() : net::percent_decode(pair.substr(eq + 1));
  }
  return object;
}

Json serialize(socketio::Socket& socket, const SocketContext& context) {
  const auto& handshake = socket.handshake();
  Json rooms = Json::array({socket.id()});
  for (const auto& room : socket.rooms()) rooms.push_back(room);
  Json headers = headers_object(handshake.headers);
  // socket.io's admin shows the address a proxy gave when there is one; Herald's is that already
  // for trusted proxies (trusted_proxies).
  std::string url = std::string(context.path) + (handshake.query.empty() ? "" : "?" + handshake.query);
  Json data = socket.reported_data();
  if (!data.is_object()) data = Json::object();
  return Json{
      {"id", socket.id()},
      {"clientId", client_id(socket.session_id())},
      {"transport", std::string(socket.transport())},
      {"nsp", socket.nsp().name()},
      {"data", std::move(data)},
      {"handshake",
       {{"address", handshake.address},
        {"headers", std::move(headers)},
        {"query", query_object(handshake.query)},
        {"issued", context.connected_ms},
        {"secure", context.secure},
        {"time", date_text(context.connected_ms)},
        {"url", std::move(url)},
        {"xdomain", !handshake.headers.empty() && std::any_of(handshake.headers.begin(), handshake.headers.end(),
                                                              [](const auto& h) { return h.first == "origin"; })}}},
      {"rooms", std::move(rooms)}};
}

Json serialize(socketio::SocketInfo& socket, const std::string& nsp) {
  Json data = socket.data.is_object() ? std::move(socket.data) : Json::object();
  Json admin = Json::object();
  if (auto found = data.find("_admin"); found != data.end()) {
    if (found->is_object()) admin = std::move(*found);
    data.erase(found);
  }
  Json given = socket.handshake.is_object() ? std::move(socket.handshake) : Json::object();
  auto field = [&given](const char* name, const Json& fallback) {
    auto found = given.find(name);
    return found == given.end() || found->is_null() ? fallback : *found;
  };
  int64_t now = now_ms();
  Json query = field("query", Json::object());
  if (query.is_string()) query = query_object(query.get<std::string>());
  Json transport = admin.value("transport", field("transport", Json("websocket")));
  Json rooms = Json::array();
  for (auto& room : socket.rooms) rooms.push_back(std::move(room));
  if (rooms.empty()) rooms.push_back(socket.id);
  return Json{{"id", socket.id},
              {"clientId", admin.value("clientId", Json(socket.id.substr(0, 12)))},
              {"transport", std::move(transport)},
              {"nsp", nsp},
              {"data", std::move(data)},
              {"handshake",
               {{"address", field("address", "")},
                {"headers", field("headers", Json::object())},
                {"query", std::move(query)},
                {"issued", field("issued", now)},
                {"secure", field("secure", false)},
                {"time", field("time", date_text(now))},
                {"url", field("url", "")},
                {"xdomain", field("xdomain", false)}}},
              {"rooms", std::move(rooms)}};
}

}  // namespace herald::admin
