// The hot path of a receiving client: recognizing `message(msgId, message)` events straight from
// the Socket.IO packet text, without building a JSON document or allocating.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace herald::bench {

struct MessageEvent {
  std::string_view ack_id;              // digits; empty when the server wants no ack
  std::string_view msg_id;              // the msgId argument as raw JSON text (`"abc"` or `17`)
  std::optional<int64_t> push_time_us;  // the message's numeric `t` field, when it is an object with one
};

// Scans a Socket.IO packet (what follows the Engine.IO '4'). Returns the event when the packet is
// an EVENT in namespace `nsp` named "message" with at least a msgId; nullopt for anything else,
// which the caller hands to the full decoder.
std::optional<MessageEvent> scan_message_event(std::string_view packet, std::string_view nsp);

}  // namespace herald::bench
