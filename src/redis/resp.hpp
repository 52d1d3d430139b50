// RESP2, the Redis wire protocol: commands encoded with hiredis' redisFormatCommandArgv, replies
// parsed by hiredis' redisReader straight into redis::Reply (no intermediate redisReply tree).
// Pure functions and a parser object; no I/O. Binary-safe: every string carries its length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"

struct redisReader;

namespace herald::redis {

// Appends the RESP encoding of one command (`*<argc>\r\n$<len>\r\n<arg>\r\n...`) to `out`.
// False (and `out` unchanged) if args is empty or hiredis cannot allocate.
bool encode_command(const std::vector<std::string>& args, std::string& out);

class ReplyReader {
 public:
  ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;
  ~ReplyReader();

  enum class Result : uint8_t { Reply, NeedMore, Error };

  // Buffers bytes read from the socket. False on a parser error (see error()).
  bool feed(const char* data, size_t size);
  // Takes the next complete reply out of what was fed. After Error the reader is unusable:
  // the connection should be dropped.
  Result next(Reply& reply);
  std::string error() const;

 private:
  struct Free {
    void operator()(redisReader* reader) const;
  };
  std::unique_ptr<redisReader, Free> reader_;
};

}  // namespace herald::redis
