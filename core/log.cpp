#include "nodal/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "nodal/core/error.hpp"

namespace nodal {
namespace {

// The level from NODAL_LOG, once. An unknown word is reported (at warn, which is on by default)
// rather than thrown: a typo in an environment variable must not stop a program.
LogLevel level_from_environment() {
  const char* text = std::getenv("NODAL_LOG");
  if (!text || !*text) return LogLevel::warn;
  try {
    return parse_log_level(text);
  } catch (const ValueError& e) {
    std::fputs(fmt::format("nodal[warn] NODAL_LOG: {}; using warn\n", e.what()).c_str(), stderr);
    return LogLevel::warn;
  }
}

std::atomic<int>& current_level() {
  static std::atomic<int> level{int(level_from_environment())};
  return level;
}

std::mutex& output_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

LogLevel log_level() { return LogLevel(current_level().load(std::memory_order_relaxed)); }
void set_log_level(LogLevel level) { current_level().store(int(level), std::memory_order_relaxed); }

LogLevel parse_log_level(std::string_view text) {
  for (LogLevel l : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug})
    if (text == log_level_name(l)) return l;
  throw ValueError(fmt::format("log level '{}' is not one of error, warn, info, debug", text));
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warn: return "warn";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
  }
  return "?";
}

void log_line(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  const std::string line = fmt::format("nodal[{}] {}\n", log_level_name(level), message);
  std::lock_guard lock(output_mutex());
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace nodal
