#pragma once
// Uploads that do not wait: core's Tensor::to(Backend::opencl) is a blocking write, and on an
// in-order queue a blocking write returns only once every kernel queued before it has run, so a
// training loop that uploads its next batch that way waits for the previous step at every step.
// upload_async enqueues the write without waiting and keeps the host tensor alive until the
// device has read it, so the host can queue step k + 1 while the device still runs step k.
#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl {

// A new device tensor on `context` holding `host` (a CPU tensor; made contiguous first). At most
// a few uploads are in flight: beyond, the oldest is waited for.
Tensor upload_async(Context& context, const Tensor& host);

}  // namespace nodal::opencl
