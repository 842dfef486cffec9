# install rules (added with the core)
