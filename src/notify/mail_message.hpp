// The alert as an Internet message (RFC 5322, MIME per RFC 2045) for SMTP DATA. Text from the
// configuration or from errors never reaches a header with a line break in it, so it cannot add
// header fields; libcurl does the dot-stuffing and sends the final ".".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "notify/alert_config.hpp"

namespace herald::notify {

// "[herald node] ALERT kind", unencoded (also for the log).
std::string alert_subject(const AlertConfig& config, const AlertMessage& message);
// The whole message: header fields, blank line, body; CRLF line endings throughout.
std::string compose_alert_mail(const AlertConfig& config, const AlertMessage& message,
                               std::chrono::system_clock::time_point now);
// An address as given to MAIL FROM / RCPT TO: `<address>` without anything that could end it.
std::string envelope_address(std::string_view address);

// Exposed for tests.
std::string rfc5322_date(std::chrono::system_clock::time_point time);  // "Mon, 30 Nov 2026 22:39:33 +0000"
std::string header_text(std::string_view text);                        // control characters -> spaces
std::string encode_header_words(std::string_view text);                // RFC 2047 if not ASCII
std::string crlf_body(std::string_view text);                          // CRLF lines of at most 998 octets

}  // namespace herald::notify
