#include "auth/auth_webhook.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <memory>
#include <stdexcept>

#include "net/forward.hpp"
#include "net/http.hpp"
#include "notify/alerter.hpp"

namespace herald::auth {
namespace {

using Json = herald::Json;

// The first IPv4 or IPv6 address of `host` (a name is resolved once, at start).
std::string resolve(const std::string& host) {
  boost::system::error_code ec;
  auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) return literal.to_string();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || !found)
    throw std::invalid_argument("auth_webhook: cannot resolve " + host);
  char text[NI_MAXHOST];
  int error = ::getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  ::freeaddrinfo(found);
  if (error != 0) throw std::invalid_argument("auth_webhook: cannot resolve " + host);
  return text;
}

}  // namespace

WebhookVerdict read_webhook_answer(int status, const std::string& body) {
  Json answer = Json::parse(body, nullptr, false);
  if (status == 200) {
    if (!answer.is_object()) return {std::nullopt, "the authentication service answered 200 without a JSON object"};
    auto uid = answer.find("uid");
    if (uid == answer.end() || !uid->is_string() || uid->get<std::string>().empty())
      return {std::nullopt, "the authentication service answered 200 without a uid"};
    WebhookIdentity identity{uid->get<std::string>(), {}};
    if (auto rooms = answer.find("rooms"); rooms != answer.end()) {
      if (!rooms->is_array()) return {std::nullopt, "the authentication service's rooms are not a list"};
      for (const auto& room : *rooms) {
        if (!room.is_string()) return {std::nullopt, "the authentication service's rooms are not all strings"};
        identity.rooms.push_back(room.get<std::string>());
      }
    }
    return {std::move(identity), {}};
  }
  if (answer.is_object())
    for (const char* key : {"message", "error"})
      if (auto text = answer.find(key); text != answer.end() && text->is_string() && !text->get<std::string>().empty())
        return {std::nullopt, text->get<std::string>()};
  if (!body.empty() && body.size() <= 200 && !answer.is_discarded() && answer.is_string())
    return {std::nullopt, answer.get<std::string>()};
  return {std::nullopt, "refused by the authentication service (HTTP " + std::to_string(status) + ")"};
}

AuthWebhook::AuthWebhook(const std::string& url, std::chrono::milliseconds timeout) : url_(url), timeout_(timeout) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme))
    throw std::invalid_argument("auth_webhook: expected a URL starting with http://, got '" + url + "'");
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  path_ = slash == std::string::npos ? "/" : rest.substr(slash);
  host_header_ = authority;
  std::string host = authority;
  // [v6]:port, host:port or host.
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    std::string port = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_);
    if (ec != std::errc() || end != port.data() + port.size() || port_ == 0)
      throw std::invalid_argument("auth_webhook: bad port in '" + url + "'");
    host = authority.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) throw std::invalid_argument("auth_webhook: no host in '" + url + "'");
  address_ = resolve(host);
}

void AuthWebhook::ask(const boost::asio::any_io_executor& executor, const Json& request,
                      std::function<void(WebhookVerdict)> done) const {
  net::HttpRequest post;
  post.method = "POST";
  post.target = path_;
  post.headers = {{"host", host_header_}, {"content-type", "application/json"}, {"accept", "application/json"}};
  post.body = request.dump(-1, ' ', false, Json::error_handler_t::replace);
  // Whichever comes first, the answer or the deadline, settles; the other does nothing.
  struct Pending {
    std::function<void(WebhookVerdict)> done;
    std::shared_ptr<net::Forward> forward;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  pending->timer = std::make_unique<boost::asio::steady_timer>(executor, timeout_);
  auto alert = [this](bool failing, const std::string& why) {
    if (!alerter_) return;
    if (failing)
      alerter_->raise("auth_webhook", "the auth webhook " + url_ + " " + why + ": every client connection is refused");
    else
      alerter_->resolve("auth_webhook", "the auth webhook " + url_ + " answers again");
  };
  pending->forward = net::forward_request(
      executor, post, address_, port_, [pending, alert](std::optional<net::HttpResponse> response) {
        auto finish = std::move(pending->done);
        if (!finish) return;
        pending->timer->cancel();
        pending->forward.reset();
        alert(!response, "cannot be reached");
        if (!response) return finish({std::nullopt, "the authentication service is unreachable"});
        finish(read_webhook_answer(response->status, response->body));
      });
  pending->timer->async_wait([pending, alert](const boost::system::error_code& ec) {
    if (ec) return;
    auto finish = std::move(pending->done);
    if (!finish) return;
    if (auto forward = std::move(pending->forward)) forward->cancel();
    alert(true, "does not answer in time");
    finish({std::nullopt, "the authentication service did not answer in time"});
  });
}

}  // namespace herald::auth
