// Micro-benchmarks of the wire codecs on the hot paths: a pushed event, a client ack, a polling
// payload, base64 of a binary packet.
#include <benchmark/benchmark.h>

#include <limits>
#include <string>
#include <vector>

#include "codec/base64.hpp"
#include "engineio/packet.hpp"
#include "socketio/packet.hpp"

namespace {

namespace codec = herald::codec;
namespace eio = herald::engineio;
namespace sio = herald::socketio;

// A typical message pushed to clients: ["message","m-123",{"text":"...100 bytes..."}].
sio::Packet pushed_message() {
  sio::Packet packet;
  packet.type = sio::PacketType::Event;
  packet.data = sio::Json::array(
      {"message",
       "m-123",
       {{"text", "hello world, this is a typical chat message of about one hundred bytes, sent to a room......"}}});
  return packet;
}

void BM_SocketioEncodeEvent(benchmark::State& state) {
  sio::Packet packet = pushed_message();
  for (auto _ : state) {
    sio::EncodedPacket out = sio::encode(packet);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * sio::encode(packet).text.size()));
}
BENCHMARK(BM_SocketioEncodeEvent);

void BM_SocketioEncodeBinaryEvent(benchmark::State& state) {
  sio::Packet packet = pushed_message();
  packet.data.push_back(sio::Json::binary(std::vector<uint8_t>(1024, 0xab)));
  for (auto _ : state) {
    sio::EncodedPacket out = sio::encode(packet);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SocketioEncodeBinaryEvent);

void BM_SocketioDecodeAck(benchmark::State& state) {
  // A client acknowledging event 31 (the Engine.IO message digit already stripped: `431["ok"]`).
  const std::string text = R"(31["ok"])";
  sio::Decoder decoder;
  for (auto _ : state) {
    auto status = decoder.add_text(text);
    benchmark::DoNotOptimize(status);
    sio::Packet packet = decoder.take();
    benchmark::DoNotOptimize(packet);
  }
}
BENCHMARK(BM_SocketioDecodeAck);

void BM_SocketioDecodeEvent(benchmark::State& state) {
  const std::string text = sio::encode(pushed_message()).text;
  sio::Decoder decoder;
  for (auto _ : state) {
    auto status = decoder.add_text(text);
    benchmark::DoNotOptimize(status);
    sio::Packet packet = decoder.take();
    benchmark::DoNotOptimize(packet);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_SocketioDecodeEvent);

std::vector<eio::OutPacket> ten_packets() {
  const std::string event = "2" + sio::encode(pushed_message()).text;
  std::vector<eio::OutPacket> packets;
  for (int i = 0; i < 10; ++i) packets.push_back(eio::make_text_packet(eio::PacketType::Message, event));
  return packets;
}

void BM_EngineioEncodePayload10(benchmark::State& state) {
  const auto packets = ten_packets();
  std::string out;
  for (auto _ : state) {
    out.clear();
    size_t taken = eio::encode_payload(packets, std::numeric_limits<size_t>::max(), out);
    benchmark::DoNotOptimize(taken);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EngineioEncodePayload10);

void BM_EngineioDecodePayload10(benchmark::State& state) {
  const auto packets = ten_packets();
  std::string body;
  eio::encode_payload(packets, std::numeric_limits<size_t>::max(), body);
  for (auto _ : state) {
    auto decoded = eio::decode_payload(body);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_EngineioDecodePayload10);

std::string one_kilobyte() {
  std::string bytes(1024, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + 7);
  return bytes;
}

void BM_Base64Encode1K(benchmark::State& state) {
  const std::string bytes = one_kilobyte();
  std::string out;
  for (auto _ : state) {
    out.clear();
    codec::base64_append(out, bytes);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_Base64Encode1K);

void BM_Base64Decode1K(benchmark::State& state) {
  const std::string text = codec::base64_encode(one_kilobyte());
  for (auto _ : state) {
    auto decoded = codec::base64_decode(text);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 1024));
}
BENCHMARK(BM_Base64Decode1K);

}  // namespace
