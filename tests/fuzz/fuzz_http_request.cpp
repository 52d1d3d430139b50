// libFuzzer target: requests parsed into a reused HttpRequest (net/http_request_parser). Invariants:
// a request parses the same whole and split in two at any point (as two reads give it), and a
// request parsed into the HttpRequest of an earlier one comes out as it does into a fresh one.
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_request_parser.hpp"

using herald::net::HttpRequest;
using herald::net::HttpRequestParser;

namespace {

struct Outcome {
  bool done = false;
  boost::beast::error_code error;
};

Outcome parse(HttpRequest& request, std::string_view first, std::string_view second) {
  HttpRequestParser parser(request);
  parser.eager(true);
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  std::string buffered(first);
  Outcome outcome;
  for (int round = 0; round < 2; ++round) {
    if (round == 1) buffered.append(second);
    size_t used = parser.put(boost::asio::buffer(buffered), outcome.error);
    buffered.erase(0, used);
    if (outcome.error && outcome.error != boost::beast::http::error::need_more) return outcome;
    if (parser.is_done()) break;
  }
  outcome.done = parser.is_done();
  return outcome;
}

bool same(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
         a.headers == b.headers && a.body == b.body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  HttpRequest whole;
  Outcome one = parse(whole, input, {});
  if (!one.done) return 0;
  size_t split = size == 0 ? 0 : data[0] % size;
  HttpRequest pieces;
  Outcome two = parse(pieces, input.substr(0, split), input.substr(split));
  if (!two.done || !same(whole, pieces)) __builtin_trap();
  HttpRequest reused;
  parse(reused, "POST /earlier?x=1 HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 2\r\n\r\nab", {});
  Outcome again = parse(reused, input, {});
  if (!again.done || !same(whole, reused)) __builtin_trap();
  return 0;
}
