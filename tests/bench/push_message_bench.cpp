// A pushed message from the API's body to the Socket.IO text a client gets, at 100 B, 1 KB and
// 10 KB: as a parsed value (the message parsed into a Json tree, serialized per encode) and as raw
// JSON text (validated once, written verbatim). "Encode" is one encode of the push packet, paid
// per encoding its recipients use; "FromApi" adds what the API does to the message first.
#include <benchmark/benchmark.h>

#include <string>

#include "codec/raw_json.hpp"
#include "socketio/packet.hpp"

namespace {

namespace codec = herald::codec;
namespace sio = herald::socketio;
using herald::Json;

// A message as backends send one: an object of ids, numbers, flags and text, about `bytes` long.
std::string message_of(size_t bytes) {
  std::string text = R"({"type":"chat","from":{"id":1234567,"name":"Ada Lovelace","score":98.50},"items":[)";
  int item = 0;
  while (text.size() + 90 < bytes) {
    if (item) text += ',';
    text += R"({"id":)" + std::to_string(100000 + item) + R"(,"price":12.50,"qty":3,"ok":true,"note":"hello world"})";
    ++item;
  }
  text += R"(],"sent":1733300000000})";
  return text;
}

sio::Packet push_of(Json message) {
  return sio::Packet{sio::PacketType::Event, "/", 42, Json::array({"message", "m-123", std::move(message)})};
}

void BM_PushEncodeParsed(benchmark::State& state) {
  const std::string text = message_of(static_cast<size_t>(state.range(0)));
  const sio::Packet packet = push_of(Json::parse(text));
  for (auto _ : state) {
    auto out = sio::encode(packet);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_PushEncodeParsed)->Arg(100)->Arg(1024)->Arg(10240);

void BM_PushEncodeRaw(benchmark::State& state) {
  const std::string text = message_of(static_cast<size_t>(state.range(0)));
  const sio::Packet packet = push_of(*codec::raw_json(text));
  for (auto _ : state) {
    auto out = sio::encode(packet);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_PushEncodeRaw)->Arg(100)->Arg(1024)->Arg(10240);

void BM_PushFromApiParsed(benchmark::State& state) {
  const std::string text = message_of(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto out = sio::encode(push_of(Json::parse(text)));
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_PushFromApiParsed)->Arg(100)->Arg(1024)->Arg(10240);

void BM_PushFromApiRaw(benchmark::State& state) {
  const std::string text = message_of(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto out = sio::encode(push_of(*codec::raw_json(text)));
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_PushFromApiRaw)->Arg(100)->Arg(1024)->Arg(10240);

}  // namespace
