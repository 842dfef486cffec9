#pragma once
// The umbrella header: #include <nodal/nodal.hpp>

// core: tensors, the graph and its engine, gradient checking
#include "nodal/core/attributes.hpp"
#include "nodal/core/backend.hpp"
#include "nodal/core/custom_node.hpp"
#include "nodal/core/dtype.hpp"
#include "nodal/core/eigen.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/core/node.hpp"
#include "nodal/core/npy.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/core/shape.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/core/tensor_format.hpp"

// nodes
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/fourier.hpp"
#include "nodal/nodes/linear.hpp"
#include "nodal/nodes/loss.hpp"
#include "nodal/nodes/matmul.hpp"
#include "nodal/nodes/operators.hpp"
#include "nodal/nodes/reduce.hpp"
#include "nodal/nodes/scalar_ops.hpp"
#include "nodal/nodes/shape_ops.hpp"
#include "nodal/nodes/softmax.hpp"
#include "nodal/nodes/unary.hpp"

// fft: plans for complex, real and N-dimensional transforms, FFT convolution
#include "nodal/fft/convolve.hpp"
#include "nodal/fft/nd_plan.hpp"
#include "nodal/fft/plan.hpp"
#include "nodal/fft/real_plan.hpp"
#include "nodal/fft/wisdom.hpp"
