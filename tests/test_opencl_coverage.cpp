// The OpenCL backend's coverage: every registered node type has an OpenCL implementation (forward,
// vjp and jvp are the three methods of one NodeImpl, so having one means having all three), and
// `nodal nodes` reports it. A node added without an OpenCL implementation fails here, by name.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/registry.hpp"

using namespace nodal;

#ifdef NODAL_HAS_OPENCL
TEST_CASE("every registered node type has an OpenCL implementation") {
  std::vector<std::string> missing;
  std::size_t count = 0;
  for (const NodeTypeInfo* type : Registry::instance().types()) {
    ++count;
    if (!Registry::instance().find_impl(type->name, Backend::opencl)) missing.push_back(type->name);
  }
  INFO(fmt::format("node types without an OpenCL implementation: {}", fmt::join(missing, ", ")));
  CHECK(missing.empty());
  CHECK(count >= 62);  // the node types of this release; a registry that lost its nodes fails too
  MESSAGE(fmt::format("{} node types, all with cpu and opencl implementations", count));
}
#else
TEST_CASE("OpenCL coverage is skipped: this build has no OpenCL backend") { MESSAGE("skipped: -DNODAL_OPENCL=OFF"); }
#endif
