// What the auth webhook's answer means: 200 {uid, rooms?} is an identity; anything else refuses
// with the backend's message when it gives one.
#include "auth/auth_webhook.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace herald::auth {
namespace auth_webhook_test {

TEST(AuthWebhookAnswer, OkWithUidAndRooms) {
  auto verdict = read_webhook_answer(200, R"({"uid":"alice","rooms":["a","b"]})");
  ASSERT_TRUE(verdict.identity) << verdict.refusal;
  EXPECT_EQ(verdict.identity->uid, "alice");
  EXPECT_EQ(verdict.identity->rooms, (std::vector<std::string>{"a", "b"}));
}

TEST(AuthWebhookAnswer, OkWithoutAUsableUidRefuses) {
  for (const char* body : {R"({"name":"x"})", R"({"uid":""})", R"({"uid":7})", "[]", "not json",
                           R"({"uid":"a","rooms":"r"})", R"({"uid":"a","rooms":[1]})"}) {
    auto verdict = read_webhook_answer(200, body);
    EXPECT_FALSE(verdict.identity) << body;
    EXPECT_FALSE(verdict.refusal.empty()) << body;
  }
}

TEST(AuthWebhookAnswer, OtherStatusesCarryTheBackendsMessage) {
  EXPECT_EQ(read_webhook_answer(403, R"({"message":"banned"})").refusal, "banned");
  EXPECT_EQ(read_webhook_answer(401, R"({"error":"expired session"})").refusal, "expired session");
  EXPECT_EQ(read_webhook_answer(500, "").refusal, "refused by the authentication service (HTTP 500)");
  EXPECT_FALSE(read_webhook_answer(201, R"({"uid":"alice"})").identity) << "only 200 accepts";
}

TEST(AuthWebhook, RefusesUrlsItCannotUse) {
  using std::chrono::milliseconds;
  EXPECT_THROW(AuthWebhook("https://127.0.0.1/auth", milliseconds(100)), std::invalid_argument);
  EXPECT_THROW(AuthWebhook("http://127.0.0.1:0/auth", milliseconds(100)), std::invalid_argument);
  EXPECT_THROW(AuthWebhook("http://:80/auth", milliseconds(100)), std::invalid_argument);
  EXPECT_NO_THROW(AuthWebhook("http://127.0.0.1:8080/auth", milliseconds(100)));
  EXPECT_NO_THROW(AuthWebhook("http://[::1]/auth", milliseconds(100)));
}

}  // namespace auth_webhook_test
}  // namespace herald::auth
