#include "cluster/direct_link.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "metrics/metrics.hpp"

namespace herald::cluster {

namespace asio = boost::asio;

namespace {
constexpr size_t kReadChunk = size_t{64} * 1024;
// An upgrade answer is a few lines; a longer one is not from a Herald node.
constexpr size_t kMaxUpgradeAnswer = size_t{8} * 1024;
}  // namespace

DirectLink::DirectLink(asio::io_context& loop, OnFrame on_frame, OnClosed on_closed)
    : socket_(loop), on_frame_(std::move(on_frame)), on_closed_(std::move(on_closed)) {}

DirectLink::~DirectLink() = default;

void DirectLink::connect(const std::string& host, uint16_t port, const std::string& upgrade_request) {
  queued_.insert(0, upgrade_request);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  auto on_connected = [self = shared_from_this()](const boost::system::error_code& error) {
    if (self->state_ == State::Closed) return;
    if (error) {
      spdlog::debug("direct link: connect failed: {}", error.message());
      return self->fail();
    }
    boost::system::error_code ignored;
    self->socket_.set_option(tcp::no_delay(true), ignored);
    self->state_ = State::AwaitingUpgrade;
    self->write();
    self->start_reading();
  };
  if (!ec) {
    socket_.async_connect(tcp::endpoint(address, port), std::move(on_connected));
    return;
  }
  // A host name: resolved off the loop by Asio's resolver.
  auto resolver = std::make_shared<tcp::resolver>(socket_.get_executor());
  resolver->async_resolve(host, std::to_string(port),
                          [self = shared_from_this(), resolver, on_connected = std::move(on_connected)](
                              const boost::system::error_code& error, const tcp::resolver::results_type& results) {
                            if (self->state_ == State::Closed) return;
                            if (error) return self->fail();
                            asio::async_connect(self->socket_, results,
                                                [on_connected](const boost::system::error_code& e,
                                                               const tcp::endpoint&) { on_connected(e); });
                          });
}

void DirectLink::adopt(int fd, const std::string& greeting, std::string already_read) {
  boost::system::error_code ec;
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  socket_.assign(local.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return fail();
  }
  socket_.set_option(tcp::no_delay(true), ec);
  state_ = State::Open;
  queued_.insert(0, greeting);
  input_ = std::move(already_read);
  write();
  if (!dispatch_frames()) return fail();
  start_reading();
}

void DirectLink::send(const direct::Frame& frame) {
  if (state_ == State::Closed) return;
  direct::encode(frame, queued_);
  if (queued_.size() > kMaxQueued) {
    spdlog::warn("direct link: the other node reads too slowly ({} bytes queued); closing the link", queued_.size());
    return fail();
  }
  schedule_write();
}

void DirectLink::schedule_write() {
  if (write_posted_ || writing_now_ || state_ == State::Connecting) return;
  write_posted_ = true;
  // At the end of the turn: everything sent during it goes out in one write.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->write_posted_ = false;
    self->write();
  });
}

void DirectLink::write() {
  if (writing_now_ || queued_.empty() || state_ == State::Connecting || state_ == State::Closed) return;
  writing_now_ = true;
  writing_.swap(queued_);
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_now_ = false;
                      self->writing_.clear();
                      if (ec) return self->fail();
                      self->write();
                    });
}

void DirectLink::start_reading() {
  if (state_ == State::Closed) return;
  if (read_buffer_.size() != kReadChunk) read_buffer_.resize(kReadChunk);
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t bytes) {
                            if (self->state_ == State::Closed) return;
                            if (ec) return self->fail();
                            self->on_read(bytes);
                          });
}

void DirectLink::on_read(size_t bytes) {
  input_.append(read_buffer_.data(), bytes);
  if (state_ == State::AwaitingUpgrade && !read_upgrade_answer()) {
    if (state_ == State::Closed) return;
    return start_reading();
  }
  if (!dispatch_frames()) return fail();
  start_reading();
}

bool DirectLink::read_upgrade_answer() {
  size_t end = input_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (input_.size() > kMaxUpgradeAnswer) fail();
    return false;
  }
  if (!input_.starts_with("HTTP/1.1 101")) {
    spdlog::debug("direct link: the other node refused the upgrade: {}", input_.substr(0, input_.find('\r')));
    fail();
    return false;
  }
  input_.erase(0, end + 4);
  state_ = State::Open;
  schedule_write();
  return true;
}

bool DirectLink::dispatch_frames() {
  size_t at = 0;
  bool ok = true;
  while (ok && state_ != State::Closed) {
    direct::Frame frame;
    size_t consumed = 0;
    auto result = direct::decode(std::string_view(input_).substr(at), frame, consumed);
    if (result == direct::Decoded::NeedMore) break;
    if (result == direct::Decoded::Malformed) {
      metrics::global().rejected_cluster_messages.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("direct link: malformed frame from the other node; closing the link");
      ok = false;
      break;
    }
    at += consumed;
    ok = on_frame_(frame);
  }
  if (at > 0 && state_ != State::Closed) input_.erase(0, at);
  return ok;
}

void DirectLink::close() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  auto closed = std::move(on_closed_);
  on_closed_ = nullptr;
  if (closed) closed();
}

void DirectLink::fail() { close(); }

}  // namespace herald::cluster
