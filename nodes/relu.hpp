#pragma once
// relu(x) = max(x, 0) now lives with the other unary elementwise nodes.
#include "nodal/nodes/unary.hpp"
