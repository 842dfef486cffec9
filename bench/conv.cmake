# Convolution benchmark: every CPU algorithm and `auto` on the issue's layers, forward and
# forward+backward, beside libtorch (Debian's libtorch-dev) on the same data when CMake finds it.
nodal_add_bench(conv conv.cpp conv_torch.cpp)
find_package(Torch QUIET)
if(Torch_FOUND)
  # Only conv_torch.cpp sees torch's headers and flags; the bench links its libraries.
  set_source_files_properties(conv_torch.cpp PROPERTIES COMPILE_DEFINITIONS NODAL_HAVE_TORCH=1)
  target_include_directories(bench_conv SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(bench_conv PRIVATE ${TORCH_LIBRARIES})
  message(STATUS "bench/conv: comparing against libtorch ${Torch_VERSION}")
else()
  message(STATUS "bench/conv: libtorch (find_package(Torch)) not found; the benchmark runs without a peer")
endif()
