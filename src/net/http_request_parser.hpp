// Reads a request straight into an HttpRequest with Beast's parser (basic_parser<true>), without
// Beast's field container in between: the connection parses every request of its keep-alive life
// into the same HttpRequest, whose strings keep their room, so a request takes no allocation once
// they have grown (the push API's path is one request per push). Only the connection sees Beast.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>

#include "net/http.hpp"

namespace herald::net {

class HttpRequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // `request` is overwritten as the request is parsed: method, target, path, query, headers (names
  // in lower case) and body; the connection sets the rest when the request is complete.
  explicit HttpRequestParser(HttpRequest& request) : request_(request) {}

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;
  using field = boost::beast::http::field;
  using verb = boost::beast::http::verb;

  void on_request_impl(verb method, string_view method_text, string_view target, int version, error_code& ec) override;
  void on_response_impl(int status, string_view reason, int version, error_code& ec) override;
  void on_field_impl(field known, string_view name, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
  size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  HttpRequest& request_;
  size_t headers_ = 0;  // the headers of this request so far (request_.headers may hold older ones)
};

}  // namespace herald::net
