#pragma once
// add(a, b) = a + b now lives with the other binary elementwise nodes and the operators.
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/operators.hpp"
