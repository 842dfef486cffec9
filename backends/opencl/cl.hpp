#pragma once
// The OpenCL C API as the rest of the backend sees it: the headers pinned to OpenCL 1.2 (what
// every current driver offers, PoCL and GPU vendors alike), an owning handle per object type,
// and `check`, which turns an error code into a BackendError naming the code and the call.
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <string>
#include <string_view>
#include <utility>

namespace nodal::opencl {

// "CL_OUT_OF_RESOURCES" for -5; "CL error -9999 (unknown)" for codes no header names.
std::string error_name(cl_int code);

// Throws BackendError "opencl: <call> failed: <NAME> (<code>)<detail>" unless code is CL_SUCCESS.
void check(cl_int code, std::string_view call, std::string_view detail = {});

// An owning reference to one OpenCL object: releases it when destroyed, retains on copy, so no
// raw cl_* object has to be released by hand anywhere in the backend.
template <class T, cl_int (*Retain)(T), cl_int (*Release)(T)> class Handle {
 public:
  Handle() = default;
  explicit Handle(T object) : object_(object) {}  // adopts a reference the caller owns
  Handle(const Handle& other) : object_(other.object_) {
    if (object_) Retain(object_);
  }
  Handle(Handle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Handle& operator=(Handle other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~Handle() {
    if (object_) Release(object_);
  }
  T get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  T object_ = nullptr;
};

using ContextHandle = Handle<cl_context, clRetainContext, clReleaseContext>;
using QueueHandle = Handle<cl_command_queue, clRetainCommandQueue, clReleaseCommandQueue>;
using MemHandle = Handle<cl_mem, clRetainMemObject, clReleaseMemObject>;
using ProgramHandle = Handle<cl_program, clRetainProgram, clReleaseProgram>;
using KernelHandle = Handle<cl_kernel, clRetainKernel, clReleaseKernel>;
using EventHandle = Handle<cl_event, clRetainEvent, clReleaseEvent>;

}  // namespace nodal::opencl
