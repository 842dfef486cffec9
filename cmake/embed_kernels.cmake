# Embeds OpenCL C sources into the library.
#
# Included from CMakeLists.txt: nodal_embed_kernels(<target>) adds, for each kernels/NAME.cl, a
# build step that writes <build>/generated/kernels/NAME.cl.cpp and compiles it into <target>.
# Run as a script (cmake -DINPUT=... -DOUTPUT=... -DNAME=... -P embed_kernels.cmake) it does the
# conversion itself: the text becomes a char array NAME_text (byte values, so no raw-string delimiter or
# compiler string-length limit can break) registered under NAME when the library loads.
# Generated files live only in the build tree; they are never committed.

if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${INPUT}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR byte_count "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  set(content "// Generated from kernels/${NAME}.cl by cmake/embed_kernels.cmake: do not edit.
#include <string_view>

#include \"nodal/backends/opencl/kernel_sources.hpp\"

namespace {
const unsigned char ${NAME}_text[] = {
    ${bytes}0x00};
[[maybe_unused]] const bool ${NAME}_registered =
    nodal::opencl::register_kernel_source(\"${NAME}\", std::string_view(reinterpret_cast<const char*>(${NAME}_text), ${byte_count}));
}  // namespace
")
  # rewrite only on change, so that touching nothing rebuilds nothing
  if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" previous)
    if(previous STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${OUTPUT}" "${content}")
  return()
endif()

function(nodal_embed_kernels target)
  file(GLOB kernel_files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/kernels/*.cl")
  set(out_dir "${PROJECT_BINARY_DIR}/generated/kernels")
  file(MAKE_DIRECTORY "${out_dir}")
  set(generated)
  foreach(kernel IN LISTS kernel_files)
    get_filename_component(name "${kernel}" NAME_WE)
    set(output "${out_dir}/${name}.cl.cpp")
    add_custom_command(
      OUTPUT "${output}"
      COMMAND "${CMAKE_COMMAND}" -DINPUT=${kernel} -DOUTPUT=${output} -DNAME=${name}
              -P "${PROJECT_SOURCE_DIR}/cmake/embed_kernels.cmake"
      DEPENDS "${kernel}" "${PROJECT_SOURCE_DIR}/cmake/embed_kernels.cmake"
      COMMENT "Embedding kernels/${name}.cl"
      VERBATIM)
    list(APPEND generated "${output}")
  endforeach()
  target_sources(${target} PRIVATE ${generated})
endfunction()
