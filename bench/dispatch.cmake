# Dispatch benchmark: engine overhead per node on a chain of 1,000 tiny pointwise nodes.
nodal_add_bench(dispatch dispatch.cpp)
