# Training-step benchmark: LeNet-5 images/s and peak memory, nodal beside libtorch (optional).
nodal_add_bench(train train.cpp train_torch.cpp)
find_package(Torch QUIET)
if(Torch_FOUND)
  set_source_files_properties(train_torch.cpp PROPERTIES COMPILE_DEFINITIONS NODAL_HAVE_TORCH=1)
  target_include_directories(bench_train SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(bench_train PRIVATE ${TORCH_LIBRARIES})
endif()
