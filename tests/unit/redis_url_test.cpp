// Redis URLs (redis/connection.hpp: parse_url, describe): one test per rule.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "redis/connection.hpp"

namespace herald::redis {
namespace redis_url_test {

Endpoint parse_ok(const std::string& url) {
  std::string error;
  std::optional<Endpoint> endpoint = parse_url(url, error);
  EXPECT_TRUE(endpoint.has_value()) << url << ": " << error;
  return endpoint.value_or(Endpoint{});
}

std::string parse_error(const std::string& url) {
  std::string error;
  std::optional<Endpoint> endpoint = parse_url(url, error);
  EXPECT_FALSE(endpoint.has_value()) << url;
  EXPECT_FALSE(error.empty()) << url;
  return error;
}

TEST(RedisUrl, HostOnlyTakesDefaults) {
  Endpoint endpoint = parse_ok("redis://cache.internal");
  EXPECT_EQ(endpoint.host, "cache.internal");
  EXPECT_EQ(endpoint.port, 6379);
  EXPECT_EQ(endpoint.db, 0);
  EXPECT_TRUE(endpoint.username.empty());
  EXPECT_TRUE(endpoint.password.empty());
  EXPECT_FALSE(endpoint.tls);
}

TEST(RedisUrl, PortAndDb) {
  Endpoint endpoint = parse_ok("redis://10.0.0.7:6380/3");
  EXPECT_EQ(endpoint.host, "10.0.0.7");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 3);
}

TEST(RedisUrl, TrailingSlashMeansDbZero) { EXPECT_EQ(parse_ok("redis://localhost:6379/").db, 0); }

TEST(RedisUrl, UserAndPassword) {
  Endpoint endpoint = parse_ok("redis://herald:s3cret@localhost");
  EXPECT_EQ(endpoint.username, "herald");
  EXPECT_EQ(endpoint.password, "s3cret");
  EXPECT_EQ(endpoint.host, "localhost");
}

TEST(RedisUrl, PasswordOnly) {
  Endpoint endpoint = parse_ok("redis://:s3cret@localhost:7000/1");
  EXPECT_TRUE(endpoint.username.empty());
  EXPECT_EQ(endpoint.password, "s3cret");
  EXPECT_EQ(endpoint.port, 7000);
  EXPECT_EQ(endpoint.db, 1);
}

TEST(RedisUrl, PasswordMayHoldAtColonAndSlash) {
  Endpoint endpoint = parse_ok("redis://:p@ss:w/rd@localhost/2");
  EXPECT_EQ(endpoint.password, "p@ss:w/rd");
  EXPECT_EQ(endpoint.host, "localhost");
  EXPECT_EQ(endpoint.db, 2);
}

TEST(RedisUrl, PercentEscapesInCredentials) {
  Endpoint endpoint = parse_ok("redis://us%65r:a%40b%2Fc@localhost");
  EXPECT_EQ(endpoint.username, "user");
  EXPECT_EQ(endpoint.password, "a@b/c");
  parse_error("redis://:bad%2@localhost");
  parse_error("redis://:bad%zz@localhost");
}

TEST(RedisUrl, RedissMeansTls) {
  Endpoint endpoint = parse_ok("rediss://:pw@redis.example.com:6380");
  EXPECT_TRUE(endpoint.tls);
  EXPECT_EQ(endpoint.host, "redis.example.com");
  EXPECT_EQ(endpoint.port, 6380);
}

TEST(RedisUrl, SchemeIsCaseInsensitive) { EXPECT_TRUE(parse_ok("REDISS://host").tls); }

TEST(RedisUrl, BracketedIpv6) {
  Endpoint endpoint = parse_ok("redis://[::1]:6390/4");
  EXPECT_EQ(endpoint.host, "::1");
  EXPECT_EQ(endpoint.port, 6390);
  EXPECT_EQ(endpoint.db, 4);
  EXPECT_EQ(parse_ok("redis://[fe80::1]").port, 6379);
}

TEST(RedisUrl, OtherSchemesAreRejected) {
  EXPECT_NE(parse_error("http://localhost:6379").find("redis://"), std::string::npos);
  parse_error("unix:///var/run/redis.sock");
  parse_error("localhost:6379");
  parse_error("");
}

TEST(RedisUrl, BadPortIsRejected) {
  EXPECT_NE(parse_error("redis://localhost:http").find("port"), std::string::npos);
  parse_error("redis://localhost:0");
  parse_error("redis://localhost:65536");
  parse_error("redis://localhost:-1");
  parse_error("redis://localhost:");
  parse_error("redis://localhost:99999999999999999999");
  parse_error("redis://[::1]x");
  parse_error("redis://[::1");
}

TEST(RedisUrl, BadDbIsRejected) {
  EXPECT_NE(parse_error("redis://localhost/one").find("database"), std::string::npos);
  parse_error("redis://localhost/-1");
  parse_error("redis://localhost/1/2");
  parse_error("redis://localhost/99999999999999999999");
}

TEST(RedisUrl, MissingHostIsRejected) {
  parse_error("redis://");
  parse_error("redis://:6379");
  parse_error("redis://:pw@/0");
}

TEST(RedisUrl, CredentialsNeedAColon) { parse_error("redis://justaname@localhost"); }

TEST(RedisUrl, QueryOptionsAreRejected) { parse_error("redis://localhost?timeout=1"); }

TEST(RedisUrl, DescribeHidesThePassword) {
  EXPECT_EQ(describe(parse_ok("redis://herald:s3cret@localhost:6380/2")), "redis://herald:***@localhost:6380/2");
  EXPECT_EQ(describe(parse_ok("rediss://:s3cret@localhost")), "rediss://:***@localhost:6379");
  EXPECT_EQ(describe(parse_ok("redis://localhost")), "redis://localhost:6379");
  EXPECT_EQ(describe(parse_ok("redis://[::1]:7000")), "redis://[::1]:7000");
  EXPECT_EQ(describe(Endpoint{}), "redis://127.0.0.1:6379");
}

TEST(RedisUrl, DescribeRoundTrips) {
  for (std::string url : {"redis://localhost:6379", "rediss://10.1.2.3:6380/5", "redis://[::1]:6379/1"}) {
    EXPECT_EQ(describe(parse_ok(url)), url);
  }
}

}  // namespace redis_url_test
}  // namespace herald::redis
