#include "redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <new>
#include <utility>

namespace herald::redis {
namespace {

// hiredis' reader calls these to build each value. A root value is a heap Reply handed to
// next(); a nested value lives in its parent's `elements`, sized when the parent was created, so
// the pointer returned for it stays valid. hiredis only ever frees the root (freeObject).
Reply* place(const redisReadTask* task) {
  if (task->parent == nullptr) return new Reply();
  auto* parent = static_cast<Reply*>(task->parent->obj);
  return &parent->elements[static_cast<size_t>(task->idx)];
}

void* create_string(const redisReadTask* task, char* data, size_t size) noexcept {
  try {
    Reply* reply = place(task);
    switch (task->type) {
      case REDIS_REPLY_ERROR:
        reply->type = Reply::Type::Error;
        break;
      case REDIS_REPLY_STATUS:
        reply->type = Reply::Type::Status;
        break;
      default:
        reply->type = Reply::Type::String;
        break;
    }
    reply->str.assign(data, size);
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;  // hiredis reports "Out of memory"
  }
}

void* create_array(const redisReadTask* task, int elements) noexcept {
  try {
    Reply* reply = place(task);
    reply->type = Reply::Type::Array;
    reply->elements.resize(static_cast<size_t>(elements));
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
  try {
    Reply* reply = place(task);
    reply->type = Reply::Type::Integer;
    reply->integer = value;
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* create_nil(const redisReadTask* task) noexcept {
  try {
    Reply* reply = place(task);
    reply->type = Reply::Type::Nil;
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void free_object(void* reply) noexcept { delete static_cast<Reply*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {create_string, create_array, create_integer, create_nil, free_object};

}  // namespace

bool encode_command(const std::vector<std::string>& args, std::string& out) {
  if (args.empty()) return false;
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  argv.reserve(args.size());
  argvlen.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    argvlen.push_back(arg.size());
  }
  char* encoded = nullptr;
  int size = redisFormatCommandArgv(&encoded, static_cast<int>(args.size()), argv.data(), argvlen.data());
  if (size < 0 || encoded == nullptr) return false;
  out.append(encoded, static_cast<size_t>(size));
  redisFreeCommand(encoded);
  return true;
}

void ReplyReader::Free::operator()(redisReader* reader) const { redisReaderFree(reader); }

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
  if (!reader_) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() = default;

bool ReplyReader::feed(const char* data, size_t size) { return redisReaderFeed(reader_.get(), data, size) == REDIS_OK; }

ReplyReader::Result ReplyReader::next(Reply& reply) {
  void* object = nullptr;
  if (redisReaderGetReply(reader_.get(), &object) != REDIS_OK) return Result::Error;
  if (object == nullptr) return Result::NeedMore;
  std::unique_ptr<Reply> root(static_cast<Reply*>(object));
  reply = std::move(*root);
  return Result::Reply;
}

std::string ReplyReader::error() const { return reader_->errstr; }

}  // namespace herald::redis
