// api::Fields: bodies chosen by Content-Type (any case, with parameters), query parameters filling
// in, the typed getters' answers and words, and a push's message taken out rather than copied.
#include "api/fields.hpp"

#include <gtest/gtest.h>

#include <string>

#include "codec/raw_json.hpp"

namespace herald::api {
namespace fields_test {

net::HttpRequest post(std::string body, std::string content_type = "application/json", std::string query = "") {
  net::HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/push";
  if (!content_type.empty()) request.headers = {{"content-type", std::move(content_type)}};
  request.body = std::move(body);
  request.query = std::move(query);
  return request;
}

std::string error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const BadRequest& error) {
    return error.what();
  }
  return "";
}

TEST(Fields, ChoosesTheBodysFormByContentTypeInAnyCase) {
  for (const char* type : {"application/json", "Application/JSON; charset=UTF-8", "APPLICATION/JSON"}) {
    auto fields = Fields::parse(post(R"({"msgId":"m"})", type));
    EXPECT_EQ(fields.required_string("msgId", 10), "m") << type;
  }
  for (const char* type : {"application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=utf-8"}) {
    auto fields = Fields::parse(post("msgId=m&ack=0", type));
    EXPECT_EQ(fields.required_string("msgId", 10), "m") << type;
    EXPECT_FALSE(fields.boolean("ack", true)) << type;
  }
  // Without a Content-Type: JSON when it looks like an object, a form otherwise.
  EXPECT_EQ(Fields::parse(post(R"({"msgId":"j"})", "")).required_string("msgId", 10), "j");
  EXPECT_EQ(Fields::parse(post("msgId=f", "")).required_string("msgId", 10), "f");
  EXPECT_EQ(error_of([] { Fields::parse(post("{}", "Text/Plain")); }),
            "unsupported Content-Type 'Text/Plain': send application/json or application/x-www-form-urlencoded");
}

TEST(Fields, QueryParametersFillInWhatTheBodyDidNotGive) {
  auto fields = Fields::parse(post(R"({"msgId":"body"})", "application/json", "msgId=query&ttl=5"));
  EXPECT_EQ(fields.required_string("msgId", 10), "body");
  EXPECT_EQ(fields.integer("ttl", 0, 0, 10), 5);
  // A blank JSON body is no fields, as before: the query is not read either.
  auto blank = Fields::parse(post(" \r\n", "application/json", "msgId=query"));
  EXPECT_TRUE(blank.raw().is_object());
  EXPECT_FALSE(blank.has("msgId"));
}

TEST(Fields, TheGettersReadAndNameWhatIsWrong) {
  auto fields = Fields::parse(post(
      R"({"s":"text","n":42,"e":"","z":null,"l":["a"," b ",""],"c":"x, y,,z","t":"TRUE","f":"False","one":1,"big":99,"bad":"yes","w":"12x","a":"a","a":"last"})"));
  EXPECT_TRUE(fields.has("s"));
  EXPECT_FALSE(fields.has("e"));
  EXPECT_FALSE(fields.has("z"));
  EXPECT_FALSE(fields.has("absent"));
  EXPECT_EQ(fields.required_string("n", 10), "42");
  EXPECT_EQ(fields.required_string("a", 10), "last") << "the last of duplicates";
  EXPECT_EQ(fields.list("l", 10, 10, true), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fields.list("c", 10, 10, true), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_TRUE(fields.boolean("t", false));
  EXPECT_FALSE(fields.boolean("f", true));
  EXPECT_TRUE(fields.boolean("one", false));
  EXPECT_TRUE(fields.boolean("e", true)) << "blank: the fallback";
  EXPECT_EQ(fields.integer("n", 0, 0, 100), 42);
  EXPECT_EQ(fields.integer("absent", 7, 0, 100), 7);
  EXPECT_EQ(fields.value("l"), Json::parse(R"(["a"," b ",""])"));

  EXPECT_EQ(error_of([&] { (void)fields.required_string("e", 10); }), "e is required");
  EXPECT_EQ(error_of([&] { (void)fields.required_string("s", 3); }), "s is longer than 3 bytes");
  EXPECT_EQ(error_of([&] { (void)fields.required_string("l", 10); }), "l must be a string");
  EXPECT_EQ(error_of([&] { (void)fields.list("l", 1, 10, true); }), "l has more than 1 items");
  EXPECT_EQ(error_of([&] { (void)fields.list("c", 10, 0, true); }), "c: an item is longer than 0 bytes");
  EXPECT_EQ(error_of([&] { (void)fields.list("t", 10, 10, true); }), "");
  EXPECT_EQ(error_of([&] { (void)fields.list("absent", 10, 10, true); }), "absent is required");
  EXPECT_EQ(error_of([&] { (void)fields.boolean("bad", true); }), "bad must be true, false, 1 or 0");
  EXPECT_EQ(error_of([&] { (void)fields.boolean("big", true); }), "big must be true, false, 1 or 0");
  EXPECT_EQ(error_of([&] { (void)fields.integer("w", 0, 0, 100); }), "w must be a whole number");
  EXPECT_EQ(error_of([&] { (void)fields.integer("big", 0, 0, 10); }), "big must be between 0 and 10");
  EXPECT_EQ(error_of([&] { (void)fields.value("z"); }), "z is required");
}

TEST(Fields, APushTakesItsMessageOnce) {
  auto fields = Fields::parse(post(R"({"message": {"b":1.50} ,"msgId":"m"})"), KeptMessages::Top);
  EXPECT_TRUE(fields.has("message"));
  EXPECT_EQ(codec::raw_json_text(fields.value("message")), R"({"b":1.50})") << "a copy leaves it";
  Json message = fields.take("message");
  EXPECT_EQ(codec::raw_json_text(message), R"({"b":1.50})");
  EXPECT_FALSE(fields.has("message"));
  EXPECT_EQ(error_of([&] { (void)fields.take("message"); }), "message is required");
  // A field of the tree, likewise.
  EXPECT_EQ(fields.take("msgId"), "m");
  EXPECT_EQ(error_of([&] { (void)fields.value("msgId"); }), "msgId is required");
}

}  // namespace fields_test
}  // namespace herald::api
