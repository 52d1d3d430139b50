// A client whose Engine.IO session stays on HTTP long-polling (transport=polling, no upgrade):
// one connection holds the long-poll GET, another carries POSTs of queued packets.
#pragma once

#include <optional>
#include <string>

#include "common/http_connection.hpp"
#include "connect/client.hpp"

namespace herald::bench {

class PollingClient final : public Client {
 public:
  PollingClient(ClientContext& context, uint64_t index);

 private:
  void open_transport() override;
  void send_packet(std::string_view packet) override;
  void close_transport() override;

  HttpConnection::Request make_request(beast::http::verb verb, std::string body = {}) const;
  // Feeds a GET response's packets to the client; false if the connection ended meanwhile.
  bool deliver(uint64_t generation, const beast::error_code& ec, HttpConnection::Response& response);
  void poll();
  void flush();
  void fail(const beast::error_code& ec);

  HttpConnection get_;
  HttpConnection post_;
  std::string pending_;  // packets for the next POST, joined by the 0x1e record separator
  bool posting_ = false;
};

}  // namespace herald::bench
