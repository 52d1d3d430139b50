// WebSocket's state for the rare cases (net/websocket.cpp reads and closes, net/ws_outbox.cpp
// writes): only a connection with an unfinished frame, a full socket or a close under way has one.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <vector>

#include "net/websocket.hpp"
#include "net/ws_frame_parser.hpp"

namespace herald::net {

struct WebSocket::Rare {
  using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                           asio::io_context::executor_type>;

  // The parser while a frame or a message is unfinished; an idle connection keeps none.
  std::optional<WsFrameParser> parser;
  // Frames the socket could not take yet, from backlog[head], of which `written` bytes went out.
  std::vector<Outgoing> backlog;
  size_t head = 0;
  size_t written = 0;
  std::optional<Timer> close_timer;
};

}  // namespace herald::net
