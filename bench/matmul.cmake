# matmul benchmark: nodal's matmul (eager and through a graph) against Eigen on the same data.
nodal_add_bench(matmul matmul.cpp)
