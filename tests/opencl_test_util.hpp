#pragma once
// Shared by the OpenCL tests: whether a platform exists (the tests skip, with a MESSAGE, only when
// none does: CI installs PoCL so they run there), and a scoped environment variable.
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "nodal/backends/opencl/devices.hpp"

namespace nodal::test {

inline bool opencl_present() {
  if (!opencl::devices().empty()) return true;
  MESSAGE("skipped: no OpenCL platform on this machine (install pocl-opencl-icd to run the OpenCL tests)");
  return false;
}

// Sets (or unsets, with nullopt) an environment variable for one scope, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace nodal::test
