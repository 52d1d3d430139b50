// The Admin UI's pure parts: the login check (clear and bcrypt through libxcrypt), the shapes the
// UI reads (times, query objects), and which files its page serves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "admin/credentials.hpp"
#include "admin/serialize.hpp"
#include "admin/ui_files.hpp"

using herald::admin::Credentials;
namespace fs = std::filesystem;

namespace admin_test {

// bcryptjs.hashSync("s3cret-pass", 4), made by the npm package, not by libxcrypt.
const std::string kHash = "$2a$04$M4ukUNhRBEkz1QuZeFqIXOuUcPh1tnLdnOJDkk0biUtuWWE9nDL2e";

TEST(AdminCredentials, ClearPassword) {
  Credentials credentials("admin", "pw");
  EXPECT_TRUE(credentials.required());
  EXPECT_FALSE(credentials.hashed());
  EXPECT_TRUE(credentials.verify("admin", "pw"));
  EXPECT_FALSE(credentials.verify("admin", "pw "));
  EXPECT_FALSE(credentials.verify("admin", ""));
  EXPECT_FALSE(credentials.verify("Admin", "pw"));
}

TEST(AdminCredentials, BcryptHashesOfEveryPrefix) {
  for (const char* prefix : {"$2a$", "$2b$", "$2y$"}) {
    Credentials credentials("admin", prefix + kHash.substr(4));
    EXPECT_TRUE(credentials.hashed()) << prefix;
    EXPECT_TRUE(credentials.verify("admin", "s3cret-pass")) << prefix;
    EXPECT_FALSE(credentials.verify("admin", "s3cret-pas")) << prefix;
    EXPECT_FALSE(credentials.verify("admin", kHash)) << prefix;
    EXPECT_FALSE(credentials.verify("other", "s3cret-pass")) << prefix;
  }
}

TEST(AdminCredentials, RefusesWhatCannotWork) {
  EXPECT_THROW(Credentials("admin", ""), std::invalid_argument);
  EXPECT_THROW(Credentials("", "pw"), std::invalid_argument);
  EXPECT_THROW(Credentials("admin", "$2b$31$" + kHash.substr(7)), std::invalid_argument);  // cost past 17
  EXPECT_THROW(Credentials("admin", "$2b$03$" + kHash.substr(7)), std::invalid_argument);
  EXPECT_FALSE(Credentials::looks_like_bcrypt("$2x$04$" + kHash.substr(7)));
  EXPECT_FALSE(Credentials::looks_like_bcrypt(kHash.substr(0, 59)));
  EXPECT_FALSE(Credentials("", "").required());
  EXPECT_TRUE(Credentials("", "").verify("", ""));
}

TEST(AdminSerialize, TimesAsJavaScriptWritesThem) {
  EXPECT_EQ(herald::admin::iso_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(herald::admin::iso_time(1796354547123), "2026-12-04T03:22:27.123Z");
}

TEST(AdminSerialize, QueryObject) {
  auto query = herald::admin::query_object("EIO=4&transport=polling&t=Ab1&name=a%20b&flag&name=second&");
  EXPECT_EQ(query.size(), 5u);
  EXPECT_EQ(query["EIO"], "4");
  EXPECT_EQ(query["transport"], "polling");
  EXPECT_EQ(query["t"], "Ab1");
  EXPECT_EQ(query["name"], "a b");  // decoded, and the first of two
  EXPECT_EQ(query["flag"], "");
  EXPECT_TRUE(herald::admin::query_object("").empty());
}

TEST(AdminUiFiles, ServesItsFilesOnly) {
  fs::path dir = fs::temp_directory_path() / ("herald-ui-" + std::to_string(::getpid()));
  fs::create_directories(dir / "js");
  std::ofstream(dir / "index.html") << "<html>page</html>";
  std::ofstream(dir / "js" / "app.js") << "app()";
  std::ofstream(dir / "js" / "app.js.map") << "{}";
  herald::admin::UiFiles files(dir.string());
  EXPECT_EQ(files.count(), 2u);  // no source map
  auto page = files.answer("GET", "/admin/", "/admin");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<html>page</html>");
  auto script = files.answer("GET", "/admin/js/app.js", "/admin");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, "app()");
  EXPECT_EQ(files.answer("GET", "/admin", "/admin").status, 301);
  EXPECT_EQ(files.answer("GET", "/admin/js/app.js.map", "/admin").status, 404);
  EXPECT_EQ(files.answer("GET", "/admin/../index.html", "/admin").status, 404);
  EXPECT_EQ(files.answer("GET", "/adminx", "/admin").status, 404);
  EXPECT_EQ(files.answer("DELETE", "/admin/", "/admin").status, 405);
  EXPECT_EQ(herald::admin::find_ui_dir("", "/nowhere/bin/herald", dir.string()), dir.string());
  EXPECT_EQ(herald::admin::find_ui_dir("", "/nowhere/bin/herald", "/nowhere"), std::nullopt);
  EXPECT_THROW(herald::admin::find_ui_dir("/nowhere", "", ""), std::invalid_argument);
  fs::remove_all(dir);
}

}  // namespace admin_test
