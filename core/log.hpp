#pragma once
// A tiny logger for the library's decisions (which convolution algorithm runs, and why). Messages
// go to stderr, one line each, prefixed "nodal[level]". The level comes from the environment
// variable NODAL_LOG (error | warn | info | debug; default warn), read once, and can be changed
// at run time with set_log_level. Thread-safe: a line is written whole under a mutex.
//
//   log_debug("conv: {} -> {}", key, name);   // formatted only when debug is enabled
#include <string_view>

#include <fmt/format.h>

namespace nodal {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

LogLevel log_level();
void set_log_level(LogLevel level);
// "error" | "warn" | "info" | "debug" (case-sensitive); ValueError naming the accepted words.
LogLevel parse_log_level(std::string_view text);
std::string_view log_level_name(LogLevel level);
inline bool log_enabled(LogLevel level) { return int(level) <= int(log_level()); }

// Writes one already-formatted line at `level` (if enabled).
void log_line(LogLevel level, std::string_view message);

template <class... Args> void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (log_enabled(level)) log_line(level, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args> void log_error(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::error, f, std::forward<Args>(a)...); }
template <class... Args> void log_warn(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::warn, f, std::forward<Args>(a)...); }
template <class... Args> void log_info(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::info, f, std::forward<Args>(a)...); }
template <class... Args> void log_debug(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::debug, f, std::forward<Args>(a)...); }

}  // namespace nodal
