#include "net/http_request_parser.hpp"

#include <algorithm>
#include <cctype>

namespace herald::net {
namespace {

// A body announced larger than this is not reserved for up front (the route's limit, checked
// before the body is read, is what bounds it).
constexpr std::uint64_t kMostReserved = std::uint64_t{1} << 20;

}  // namespace

void HttpRequestParser::on_request_impl(verb /*method*/, string_view method_text, string_view target, int /*version*/,
                                        error_code& /*ec*/) {
  request_.method.assign(method_text.data(), method_text.size());
  request_.target.assign(target.data(), target.size());
  size_t question = target.find('?');
  if (question == string_view::npos) {
    request_.path.assign(target.data(), target.size());
    request_.query.clear();
  } else {
    request_.path.assign(target.data(), question);
    request_.query.assign(target.data() + question + 1, target.size() - question - 1);
  }
  request_.body.clear();
  headers_ = 0;
}

void HttpRequestParser::on_response_impl(int /*status*/, string_view /*reason*/, int /*version*/, error_code& /*ec*/) {
}  // a request parser sees no status line

void HttpRequestParser::on_field_impl(field /*known*/, string_view name, string_view value, error_code& /*ec*/) {
  if (headers_ == request_.headers.size()) request_.headers.emplace_back();
  auto& [lower_name, text] = request_.headers[headers_++];
  lower_name.assign(name.data(), name.size());
  for (auto& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  text.assign(value.data(), value.size());
}

void HttpRequestParser::on_header_impl(error_code& /*ec*/) { request_.headers.resize(headers_); }

void HttpRequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& /*ec*/) {
  if (content_length) request_.body.reserve(static_cast<size_t>(std::min(*content_length, kMostReserved)));
}

size_t HttpRequestParser::on_body_impl(string_view body, error_code& /*ec*/) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

void HttpRequestParser::on_chunk_header_impl(std::uint64_t /*size*/, string_view /*extensions*/, error_code& /*ec*/) {}

size_t HttpRequestParser::on_chunk_body_impl(std::uint64_t /*remain*/, string_view body, error_code& /*ec*/) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

void HttpRequestParser::on_finish_impl(error_code& /*ec*/) {}

}  // namespace herald::net
