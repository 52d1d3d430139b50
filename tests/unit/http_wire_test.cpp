// The connection's own HTTP wire code: requests parsed straight into a reused HttpRequest
// (net/http_request_parser) and answers' heads written into a reused string (net/http_response_head).
#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>

#include "net/http_request_parser.hpp"
#include "net/http_response_head.hpp"

namespace herald::net {
namespace http_wire_test {

namespace http = boost::beast::http;

// Parses `wire` (in pieces of `piece` bytes, as reads would give it) into `request`; returns the
// error of the last put, or success when the request is complete.
boost::beast::error_code parse(HttpRequest& request, std::string_view wire, size_t piece = 0) {
  HttpRequestParser parser(request);
  parser.eager(true);
  std::string buffered;
  boost::beast::error_code ec;
  size_t offered = 0;
  while (!parser.is_done()) {
    size_t more = piece == 0 ? wire.size() - offered : std::min(piece, wire.size() - offered);
    if (more == 0) break;
    buffered.append(wire.substr(offered, more));
    offered += more;
    size_t used = parser.put(boost::asio::buffer(buffered), ec);
    buffered.erase(0, used);
    if (ec == http::error::need_more) continue;
    if (ec) return ec;
  }
  if (!parser.is_done()) return http::error::need_more;
  return {};
}

TEST(HttpRequestParser, FillsTheRequestWithLowerCaseNamesAndTheQuerySplit) {
  HttpRequest request;
  ASSERT_FALSE(parse(request,
                     "POST /pushMsgToSingleDevice?uid=a%20b&x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: "
                     "application/json\r\nX-Forwarded-For: 10.0.0.1\r\nContent-Length: 12\r\n\r\n{\"uid\":\"u1\"}"));
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/pushMsgToSingleDevice?uid=a%20b&x=1");
  EXPECT_EQ(request.path, "/pushMsgToSingleDevice");
  EXPECT_EQ(request.query, "uid=a%20b&x=1");
  ASSERT_EQ(request.headers.size(), 4u);
  EXPECT_EQ(request.headers[1].first, "content-type");
  EXPECT_EQ(request.header("x-forwarded-for"), "10.0.0.1");
  EXPECT_EQ(request.body, "{\"uid\":\"u1\"}");
  EXPECT_EQ(request.query_param("uid"), "a b");
}

TEST(HttpRequestParser, ANextRequestLeavesNothingOfTheOneBefore) {
  HttpRequest request;
  ASSERT_FALSE(
      parse(request, "POST /a?q=1 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Two: 2\r\nContent-Length: 3\r\n\r\nabc"));
  ASSERT_FALSE(parse(request, "GET /b HTTP/1.1\r\nHost: other\r\n\r\n"));
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/b");
  EXPECT_EQ(request.query, "");
  ASSERT_EQ(request.headers.size(), 1u);
  EXPECT_EQ(request.header("host"), "other");
  EXPECT_EQ(request.header("x-one"), "");
  EXPECT_EQ(request.body, "");
}

TEST(HttpRequestParser, ReadsAChunkedBodyAndOneSentByteByByte) {
  constexpr std::string_view kChunked =
      "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
  HttpRequest whole;
  ASSERT_FALSE(parse(whole, kChunked));
  EXPECT_EQ(whole.body, "Wikipedia");
  HttpRequest bytes;
  ASSERT_FALSE(parse(bytes, kChunked, 1));
  EXPECT_EQ(bytes.body, "Wikipedia");
  EXPECT_EQ(bytes.headers, whole.headers);
}

TEST(HttpRequestParser, RefusesWhatBeastRefuses) {
  HttpRequest request;
  EXPECT_EQ(parse(request, "POST /p HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            http::error::bad_content_length);
  EXPECT_TRUE(parse(request, "GET /p HTTP/1.1\r\nBad Header: x\r\n\r\n"));
  EXPECT_EQ(parse(request, "GET /p HTTP/1.1\r\nHost: h\r\n"), http::error::need_more);
}

HttpResponse answer(int status, std::string body, Headers headers) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

TEST(HttpResponseHead, StatusLineHeadersAndLength) {
  std::string head;
  write_response_head(head, answer(200, "{}", {{"Content-Type", "application/json"}}), 2, true);
  EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");
  write_response_head(head, answer(404, "x", {}), 1, false);
  EXPECT_EQ(head, "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponseHead, TheConnectionsOwnHeadersAndRepeatsAreLeftOut) {
  std::string head;
  write_response_head(head,
                      answer(200, "",
                             {{"content-length", "99"},
                              {"Connection", "keep-alive"},
                              {"Transfer-Encoding", "chunked"},
                              {"Vary", "a"},
                              {"vary", "Origin"}}),
                      0, true);
  EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nvary: Origin\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpResponseHead, NoLengthWithoutABodyAndNoHeaderInjection) {
  std::string head;
  write_response_head(head, answer(204, "", {{"Access-Control-Allow-Origin", "https://a\r\nSet-Cookie: x"}}), 0, true);
  EXPECT_EQ(head, "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://a  Set-Cookie: x\r\n\r\n");
  EXPECT_TRUE(status_without_body(101));
  EXPECT_TRUE(status_without_body(304));
  EXPECT_FALSE(status_without_body(200));
  EXPECT_EQ(whole_response(answer(503, "busy", {})),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy");
}

}  // namespace http_wire_test
}  // namespace herald::net
