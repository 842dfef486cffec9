#pragma once
// The nodal::Error hierarchy. Every message names the operation and the values involved, so a
// user reading only the message knows what to fix. Catch nodal::Error to catch them all.
#include <stdexcept>
#include <string>

namespace nodal {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Shapes that do not fit the operation (broadcasting, matmul inner dimensions, reshape sizes...).
struct ShapeError : Error {
  using Error::Error;
};
// A dtype the operation does not support, or inputs whose dtypes disagree.
struct DTypeError : Error {
  using Error::Error;
};
// A backend cannot run something: a missing node implementation, a device or kernel failure.
struct BackendError : Error {
  using Error::Error;
};
// Reading or writing files: .npy, datasets, checkpoints, FFT wisdom.
struct IoError : Error {
  using Error::Error;
};
// A value out of its domain: an attribute, an argument, a graph with a cycle.
struct ValueError : Error {
  using Error::Error;
};

}  // namespace nodal
