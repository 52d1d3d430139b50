// The report of `herald-bench push`, as text and as JSON.
#pragma once

#include <nlohmann/json.hpp>

#include "push/options.hpp"
#include "push/pusher.hpp"

namespace herald::bench {

void print_push_report(const PushResult& result, const PushOptions& options, const std::string& url, double rate);
nlohmann::json push_report_json(const PushResult& result, const PushOptions& options, const std::string& url,
                                double rate);

}  // namespace herald::bench
