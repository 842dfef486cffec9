# conv2d on an OpenCL device (forward, forward+backward); its PyTorch/CUDA peer is peers/torch_cuda.py.
if(NODAL_OPENCL)
  nodal_add_bench(conv_opencl conv_opencl.cpp)
endif()
