#include "connect/polling_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

#include "engineio/packet.hpp"

namespace herald::bench {
namespace {

constexpr std::chrono::seconds kRequestTimeout{10};

ErrorKind classify(const beast::error_code& ec) {
  if (ec == asio::error::connection_refused) return ErrorKind::Refused;
  if (ec == beast::error::timeout || ec == asio::error::timed_out) return ErrorKind::Timeout;
  if (ec == asio::error::eof || ec == beast::http::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe)
    return ErrorKind::Closed;
  return ErrorKind::Io;
}

}  // namespace

PollingClient::PollingClient(ClientContext& context, uint64_t index)
    : Client(context, index),
      get_(context.io.get_executor(), context.server, local_address()),
      post_(context.io.get_executor(), context.server, local_address()) {}

HttpConnection::Request PollingClient::make_request(beast::http::verb verb, std::string body) const {
  std::string target = context_.socketio_path + "?EIO=4&transport=polling";
  if (!engine_sid().empty()) target += "&sid=" + engine_sid();
  HttpConnection::Request request{verb, target, 11};
  request.set(beast::http::field::host, context_.host_header);
  if (verb == beast::http::verb::post) {
    request.set(beast::http::field::content_type, "text/plain;charset=UTF-8");
    request.body() = std::move(body);
  }
  return request;
}

void PollingClient::open_transport() {
  pending_.clear();
  posting_ = false;
  auto generation = this->generation();
  get_.send(make_request(beast::http::verb::get), kRequestTimeout,
            [this, generation](const beast::error_code& ec, HttpConnection::Response& response) {
              if (!deliver(generation, ec, response)) return;
              if (engine_sid().empty()) return on_failure(ErrorKind::Handshake);
              poll();
              flush();
            });
}

bool PollingClient::deliver(uint64_t generation, const beast::error_code& ec, HttpConnection::Response& response) {
  if (!is_current(generation)) return false;
  if (ec) {
    fail(ec);
    return false;
  }
  if (response.result() != beast::http::status::ok) {
    on_failure(ErrorKind::Handshake);
    return false;
  }
  auto packets = engineio::decode_payload(response.body());
  if (!packets) {
    on_failure(ErrorKind::Protocol);
    return false;
  }
  context_.received_us = epoch_us();
  for (const auto& packet : *packets) {
    if (packet.binary) continue;
    std::string text;
    text.reserve(1 + packet.data.size());
    text += static_cast<char>('0' + static_cast<int>(packet.type));
    text += packet.data;
    on_packet(text);
    if (!is_current(generation)) return false;
  }
  return true;
}

void PollingClient::poll() {
  get_.send(make_request(beast::http::verb::get), poll_timeout(),
            [this, generation = generation()](const beast::error_code& ec, HttpConnection::Response& response) {
              if (deliver(generation, ec, response)) poll();
            });
}

void PollingClient::send_packet(std::string_view packet) {
  if (!pending_.empty()) pending_ += engineio::kRecordSeparator;
  pending_ += packet;
  if (!engine_sid().empty()) flush();
}

void PollingClient::flush() {
  if (posting_ || pending_.empty()) return;
  posting_ = true;
  post_.send(make_request(beast::http::verb::post, std::move(pending_)), kRequestTimeout,
             [this, generation = generation()](const beast::error_code& ec, HttpConnection::Response& response) {
               if (!is_current(generation)) return;
               posting_ = false;
               if (ec) return fail(ec);
               if (response.result() != beast::http::status::ok) return on_failure(ErrorKind::Protocol);
               flush();
             });
  pending_.clear();
}

void PollingClient::close_transport() {
  get_.close();
  post_.close();
  pending_.clear();
  posting_ = false;
}

void PollingClient::fail(const beast::error_code& ec) { on_failure(classify(ec)); }

}  // namespace herald::bench
