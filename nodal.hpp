#pragma once
// The umbrella header: #include <nodal/nodal.hpp>
#include "nodal/core/attributes.hpp"
#include "nodal/core/backend.hpp"
#include "nodal/core/dtype.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/core/node.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/core/shape.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/nodes/add.hpp"
#include "nodal/nodes/relu.hpp"
