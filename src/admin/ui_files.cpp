#include "admin/ui_files.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace herald::admin {

namespace fs = std::filesystem;

namespace {

bool has_index(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "index.html", ec);
}

std::string content_type(const fs::path& file) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "application/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
  };
  auto found = kTypes.find(file.extension().string());
  return found == kTypes.end() ? "application/octet-stream" : found->second;
}

}  // namespace

std::optional<std::string> find_ui_dir(const std::string& setting, const std::string& program_path,
                                       const std::string& build_dir) {
  if (!setting.empty()) {
    if (!has_index(setting))
      throw std::invalid_argument("admin_ui_dir: no index.html in " + setting +
                                  " (it is the ui/dist folder of the @socket.io/admin-ui package)");
    return setting;
  }
  if (!program_path.empty()) {
    fs::path installed = fs::path(program_path).parent_path().parent_path() / "share/herald/admin-ui";
    if (has_index(installed)) return installed.string();
  }
  if (!build_dir.empty() && has_index(build_dir)) return build_dir;
  return std::nullopt;
}

UiFiles::UiFiles(const std::string& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() == ".map") continue;
    std::ifstream in(it->path(), std::ios::binary);
    if (!in) throw std::runtime_error("admin UI: cannot read " + it->path().string());
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    files_[fs::relative(it->path(), dir).generic_string()] = File{std::move(body), content_type(it->path())};
  }
  if (ec) throw std::runtime_error("admin UI: cannot read " + dir + ": " + ec.message());
}

net::HttpResponse UiFiles::answer(std::string_view method, std::string_view path, const std::string& prefix) const {
  if (method != "GET" && method != "HEAD")
    return net::HttpResponse::text(405, "Method Not Allowed\n").with("Allow", "GET, HEAD");
  // The page's own links are relative (js/app.js): it must be opened as /admin/, not /admin.
  if (path == prefix) return net::HttpResponse::text(301, "Moved\n").with("Location", prefix + "/");
  std::string_view rest = path.substr(std::min(path.size(), prefix.size() + 1));
  if (!path.starts_with(prefix + "/")) return net::HttpResponse::text(404, "Not Found\n");
  if (rest.empty()) rest = "index.html";
  auto found = files_.find(rest);  // only the files read at start: no path reaches anything else
  if (found == files_.end()) return net::HttpResponse::text(404, "Not Found\n");
  net::HttpResponse response =
      net::HttpResponse::text(200, method == "HEAD" ? std::string() : found->second.body, found->second.content_type);
  // The page is small and changes with the package; the assets' names carry their hash.
  response.with("Cache-Control", rest == "index.html" ? "no-cache" : "public, max-age=86400");
  response.with("X-Content-Type-Options", "nosniff");
  return response;
}

void UiFiles::attach(net::HttpRouter& router, const std::string& prefix) {
  router.add(prefix, 0, [this, prefix](const std::shared_ptr<net::HttpExchange>& exchange) {
    const auto& request = exchange->request();
    exchange->respond(answer(request.method, request.path, prefix));
  });
}

}  // namespace herald::admin
