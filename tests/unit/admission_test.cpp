// engineio::Admission, the per-address limits of the Engine.IO server: open sessions per address,
// and new sessions per second (a token bucket with a burst of four seconds' worth). On a manual
// clock, so the bucket refills exactly as far as a test moves time. Then the same limits as a
// client meets them: the handshake's answer (503 or 429 with Retry-After) and the slot given back
// when the session ends.
#include "engineio/admission.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engineio_test_server.hpp"

namespace herald::engineio {
namespace admission_test {

using namespace engineio_testing;  // the test server of engineio_test_server.hpp

using Verdict = Admission::Verdict;

TEST(Admission, WithoutLimitsAdmitsEverythingAndTracksNothing) {
  Admission admission(0, 0);
  EXPECT_FALSE(admission.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  EXPECT_EQ(admission.tracked(), 0u);
}

TEST(Admission, RefusesSessionsPastTheLimitPerAddress) {
  Admission admission(2, 0);
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooManySessions);
  EXPECT_EQ(admission.admit("2001:db8::1"), Verdict::Admit) << "another address has its own count";
  admission.release("192.0.2.1");
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit) << "a released session frees its place";
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooManySessions);
}

TEST(Admission, ForgetsAnAddressWithoutSessionsWhenThereIsNoRate) {
  Admission admission(1, 0);
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  EXPECT_EQ(admission.tracked(), 1u);
  admission.release("192.0.2.1");
  EXPECT_EQ(admission.tracked(), 0u);
  admission.release("192.0.2.1");  // once too often: nothing to give back, nothing breaks
  EXPECT_EQ(admission.tracked(), 0u);
}

TEST(Admission, AllowsABurstThenRefillsAtTheRate) {
  auto clock = net::Clock::manual();
  Admission admission(0, 2.0, *clock);  // 2 per second, a burst of 8
  for (int i = 0; i < 8; ++i) EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit) << i;
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooFast);
  EXPECT_EQ(admission.admit("192.0.2.2"), Verdict::Admit) << "another address has its own bucket";
  clock->advance(std::chrono::milliseconds(400));  // 0.8 of a token
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooFast);
  clock->advance(std::chrono::milliseconds(110));  // 1.02 tokens
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooFast);
  clock->advance(std::chrono::seconds(60));  // refills to the burst, not beyond
  for (int i = 0; i < 8; ++i) EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit) << i;
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooFast);
}

TEST(Admission, ASlowRateStillAllowsOneHandshake) {
  auto clock = net::Clock::manual();
  Admission admission(0, 0.1, *clock);  // one per ten seconds: a burst of one
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::TooFast);
  clock->advance(std::chrono::seconds(10) + std::chrono::milliseconds(1));
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
}

TEST(Admission, KeepsAnIdleAddressUntilItsBucketIsFullAgain) {
  auto clock = net::Clock::manual();
  Admission admission(5, 1.0, *clock);  // a burst of 4
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  admission.release("192.0.2.1");
  EXPECT_EQ(admission.tracked(), 1u) << "forgetting it now would hand it a full burst again";
  EXPECT_EQ(admission.admit("192.0.2.1"), Verdict::Admit);
  clock->advance(std::chrono::seconds(2));
  admission.release("192.0.2.1");
  EXPECT_EQ(admission.tracked(), 0u) << "its bucket is full again: nothing to remember";
}

// The limits as the Engine.IO server applies them to handshakes.
class EngineioAdmission : public EngineioPolling {};

TEST_F(EngineioAdmission, ASecondSessionFromOneAddressIsRefusedWith503UntilTheFirstEnds) {
  Config config = default_config();
  config.max_sessions_per_ip = 1;
  start(config);
  std::string sid = open();
  auto refused = send("GET", "EIO=4&transport=polling");
  EXPECT_EQ(refused->status(), 503) << refused->body();
  auto body = nlohmann::json::parse(refused->body(), nullptr, false);
  EXPECT_EQ(body.value("code", -1), static_cast<int>(ErrorCode::Forbidden)) << refused->body();
  EXPECT_EQ(server().session_count(0), 1u);

  auto other = make("GET", "EIO=4&transport=polling");
  other->mutable_request().remote_address = "192.0.2.7";
  server().handle(other);
  loop().poll();
  EXPECT_EQ(other->status(), 200) << "another address is not limited by this one";

  session(0).close(CloseReason::ForcedClose);
  EXPECT_EQ(get(sid)->body(), "1");  // the close packet fetched: the session is gone
  open();                            // and its address may open another
}

TEST_F(EngineioAdmission, HandshakesTooFastAreRefusedWith429AndRetryAfter) {
  Config config = default_config();
  config.handshakes_per_ip_per_second = 0.25;  // a burst of one
  start(config);
  open();
  auto refused = send("GET", "EIO=4&transport=polling");
  EXPECT_EQ(refused->status(), 429) << refused->body();
  EXPECT_EQ(refused->header("Retry-After"), "1");
  advance(std::chrono::seconds(4));
  open();
}

}  // namespace admission_test
}  // namespace herald::engineio
