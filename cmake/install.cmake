# Installation and packaging: one library, nodal::nodal, consumable three ways after
# `cmake --install <build> --prefix <prefix>`:
#   find_package(nodal CONFIG REQUIRED)   <prefix>/lib/cmake/nodal/nodalConfig.cmake
#   pkg-config nodal                      <prefix>/lib/pkgconfig/nodal.pc
#   add_subdirectory(<nodal source>)      (no installation; the same target)
# Headers keep their folders under <prefix>/include/nodal/ so that the spelling
# "nodal/core/tensor.hpp" works in the build tree (a symbolic link) and after installation alike.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(NODAL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/nodal"
    CACHE STRING "Where nodalConfig.cmake is installed, relative to the prefix")
set(NODAL_HEADER_FOLDERS core fft nodes backends nn)

# Versioned shared object (libnodal.so -> libnodal.so.0 -> libnodal.so.0.1.0): the API is not
# stable before 1.0, so the minor version is part of the soname.
set_target_properties(nodal PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

install(TARGETS nodal EXPORT nodalTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Only headers: the OpenCL kernel sources (*.cl) are compiled into the library, not installed.
foreach(folder IN LISTS NODAL_HEADER_FOLDERS)
  if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/${folder}")
    install(DIRECTORY "${PROJECT_SOURCE_DIR}/${folder}/"
      DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/nodal/${folder}"
      FILES_MATCHING PATTERN "*.hpp")
  endif()
endforeach()
install(FILES "${PROJECT_SOURCE_DIR}/nodal.hpp" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/nodal")

# --- CMake package ---
install(EXPORT nodalTargets NAMESPACE nodal:: DESTINATION "${NODAL_INSTALL_CMAKEDIR}")
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/nodalConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/package/nodalConfig.cmake"
  INSTALL_DESTINATION "${NODAL_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/package/nodalConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/package/nodalConfig.cmake"
              "${PROJECT_BINARY_DIR}/package/nodalConfigVersion.cmake"
  DESTINATION "${NODAL_INSTALL_CMAKEDIR}")

# --- pkg-config ---
# Eigen and fmt ship .pc files on Debian; prefer naming them in Requires (pkg-config then adds
# their flags and checks they are installed) and fall back to literal flags where one is missing.
find_package(PkgConfig QUIET)
set(NODAL_PC_REQUIRES "")
set(NODAL_PC_EXTRA_CFLAGS "")
set(NODAL_PC_EXTRA_LIBS "")
if(PKG_CONFIG_FOUND)
  pkg_check_modules(NODAL_PC_EIGEN3 QUIET eigen3)
  pkg_check_modules(NODAL_PC_FMT QUIET fmt)
endif()
if(NODAL_PC_EIGEN3_FOUND)
  list(APPEND NODAL_PC_REQUIRES "eigen3 >= 3.4")
else()
  get_target_property(_nodal_eigen_includes Eigen3::Eigen INTERFACE_INCLUDE_DIRECTORIES)
  foreach(dir IN LISTS _nodal_eigen_includes)
    string(APPEND NODAL_PC_EXTRA_CFLAGS " -I${dir}")
  endforeach()
endif()
if(NODAL_PC_FMT_FOUND)
  list(APPEND NODAL_PC_REQUIRES "fmt")
else()
  string(APPEND NODAL_PC_EXTRA_LIBS " -lfmt")
endif()
list(JOIN NODAL_PC_REQUIRES ", " NODAL_PC_REQUIRES)
# Boost.Graph's adjacency_list is header-only and lives in /usr/include; libboost_graph is
# linked for completeness (read_graphviz and friends). OpenMP is GCC's libgomp via -fopenmp.
string(APPEND NODAL_PC_EXTRA_LIBS " -lboost_graph")
# The prefix is chosen at install time (cmake --install --prefix), so the .pc file locates it
# relative to itself: ${pcfiledir} is <prefix>/<libdir>/pkgconfig.
file(RELATIVE_PATH NODAL_PC_PREFIX_FROM_PCDIR "/nodal-prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/nodal-prefix")
string(REGEX REPLACE "/$" "" NODAL_PC_PREFIX_FROM_PCDIR "${NODAL_PC_PREFIX_FROM_PCDIR}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/nodal.pc.in" "${PROJECT_BINARY_DIR}/package/nodal.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/package/nodal.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# --- finding the shared library at run time ---
# Into a system prefix (/usr/local as root): refresh the loader cache. Anywhere else the
# package carries the path: CMake consumers get a build RPATH from the imported location and
# the .pc file adds -Wl,-rpath,${libdir}.
install(CODE [[
  if("$ENV{DESTDIR}" STREQUAL "" AND CMAKE_INSTALL_PREFIX MATCHES "^/usr(/local)?/?$")
    find_program(NODAL_LDCONFIG ldconfig PATHS /sbin /usr/sbin)
    if(NODAL_LDCONFIG)
      execute_process(COMMAND "${NODAL_LDCONFIG}" RESULT_VARIABLE _nodal_ldconfig_result)
    endif()
  endif()
]])

# --- the command-line tool ---
# tools/ is added after this file is included, so the tool's install rule is deferred to the end
# of the top-level directory, when the target exists (or not: it is optional).
function(_nodal_install_cli)
  if(TARGET nodal_cli)
    set_target_properties(nodal_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
    install(TARGETS nodal_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endfunction()
cmake_language(DEFER DIRECTORY "${PROJECT_SOURCE_DIR}" CALL _nodal_install_cli)
