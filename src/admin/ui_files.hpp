// The Admin UI's page: the built files @socket.io/admin-ui ships (ui/dist), read once at start
// and served from memory at /admin/, so that http://host:port/admin/ opens the UI.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/http.hpp"

namespace herald::admin {

// Where the built UI is: `setting` when given (it must hold index.html), else the first of
// <prefix>/share/herald/admin-ui for a binary in <prefix>/bin (the package's /usr/share/herald/admin-ui)
// and `build_dir` (the source tree's node_modules copy, for a binary run from its build);
// nullopt when none has it. Throws std::invalid_argument for a `setting` without index.html.
std::optional<std::string> find_ui_dir(const std::string& setting, const std::string& program_path,
                                       const std::string& build_dir);

class UiFiles {
 public:
  // Reads every file under `dir` but source maps (only a debugger asks for them). Throws
  // std::runtime_error when the directory cannot be read.
  explicit UiFiles(const std::string& dir);
  size_t count() const { return files_.size(); }
  // Serves GET and HEAD under `prefix` ("/admin": the page at /admin/, /admin itself redirected).
  void attach(net::HttpRouter& router, const std::string& prefix);
  // The answer for one request path under `prefix`.
  net::HttpResponse answer(std::string_view method, std::string_view path, const std::string& prefix) const;

 private:
  struct File {
    std::string body;
    std::string content_type;
  };
  std::map<std::string, File, std::less<>> files_;  // by path relative to the directory
};

}  // namespace herald::admin
