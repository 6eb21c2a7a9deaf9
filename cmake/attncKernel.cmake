# attnc_add_kernel: compile an .attn spec at build time into a linkable target.
#
#   attnc_add_kernel(TARGET <target> SPEC <file.attn> [BACKEND x86|cuda]
#                    [ISA x86|x86-avx2|x86-avx512] [ARCH sm_80|sm_86|sm_89|sm_90a]
#                    [SIMT_EMULATION] [KERNELS <name>...]
#                    [SCHEDULE "<knobs>"] [DECODE_SCHEDULE "<knobs>"]
#                    [TUNING_DB <file>])
#
# BACKEND x86 (the default) runs `attnc SPEC -target ISA -o DIR` when the spec
# (or attnc) changes and gives <target>, an INTERFACE library that links every
# kernel's NAME.a (with the threads and dl libraries Halide's runtime needs)
# and puts DIR, holding NAME.h and attnc_runtime.h, on the include path.
#
# BACKEND cuda runs `attnc SPEC -target cuda --arch ARCH -o DIR` and gives
# <target>, a static library of the kernels' NAME.cu compiled by nvcc for ARCH
# (default sm_80; the project must have enabled the CUDA language), or, with
# SIMT_EMULATION, compiled as C++ against the CPU emulator (no GPU, no CUDA
# toolkit: for tests). NAME.h declares NAME_cuda(...) either way.
#
# TUNING_DB names the tuning database attnc consults (`attnc --db`; by
# default $ATTNC_TUNING_DB or $XDG_CACHE_HOME/attnc/tuning.json as attnc finds
# them, docs/tuning.md); the kernels are rebuilt when that file changes.
#
# KERNELS names the attentions the spec defines (default: the spec's file
# name without .attn); attnc checks them (--expect-kernels) and, when one is
# missing, fails the build naming the ones the spec defines. Several kernels,
# from one spec or several and of both backends, link into one program.
include_guard(GLOBAL)
find_package(Threads REQUIRED)

function(attnc_add_kernel)
  cmake_parse_arguments(ARG "SIMT_EMULATION" "TARGET;SPEC;BACKEND;ISA;ARCH;SCHEDULE;DECODE_SCHEDULE;TUNING_DB" "KERNELS"
                        ${ARGN})
  if(NOT ARG_TARGET OR NOT ARG_SPEC)
    message(FATAL_ERROR "attnc_add_kernel: TARGET and SPEC are required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "attnc_add_kernel: unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_BACKEND)
    set(ARG_BACKEND x86)
  endif()
  if(NOT ARG_BACKEND STREQUAL "x86" AND NOT ARG_BACKEND STREQUAL "cuda")
    message(FATAL_ERROR "attnc_add_kernel: BACKEND ${ARG_BACKEND} is not supported (x86, cuda)")
  endif()
  if(NOT ARG_ISA)
    set(ARG_ISA x86)
  endif()
  get_filename_component(spec "${ARG_SPEC}" ABSOLUTE)
  if(NOT ARG_KERNELS)
    get_filename_component(ARG_KERNELS "${spec}" NAME_WE)
  endif()
  if(TARGET attnc)  # inside attnc's own build
    set(exe $<TARGET_FILE:attnc>)
    set(exe_dep attnc)
  elseif(TARGET attnc::attnc)
    set(exe $<TARGET_FILE:attnc::attnc>)
    set(exe_dep attnc::attnc)
  else()
    message(FATAL_ERROR "attnc_add_kernel: no attnc executable (find_package(attnc) first)")
  endif()
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}.attnc")
  string(REPLACE ";" "," expected "${ARG_KERNELS}")
  set(extra --expect-kernels "${expected}")
  if(ARG_SCHEDULE)
    list(APPEND extra --schedule "${ARG_SCHEDULE}")
  endif()
  if(ARG_DECODE_SCHEDULE)
    list(APPEND extra --decode-schedule "${ARG_DECODE_SCHEDULE}")
  endif()
  set(db_dep)
  if(ARG_TUNING_DB)
    get_filename_component(db "${ARG_TUNING_DB}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    list(APPEND extra --db "${db}")
    # (A rebuild when it changes: a file that exists now, or one this build makes.)
    string(FIND "${db}" "${CMAKE_BINARY_DIR}/" in_build)
    if(EXISTS "${db}" OR in_build EQUAL 0)
      set(db_dep "${db}")
    endif()
  endif()
  if(ARG_BACKEND STREQUAL "cuda")
    if(NOT ARG_ARCH)
      set(ARG_ARCH sm_80)
    endif()
    set(outputs "${dir}/attnc_runtime.h" "${dir}/attnc_device.cuh" "${dir}/attnc_simt.h")
    set(sources)
    foreach(k ${ARG_KERNELS})
      list(APPEND outputs "${dir}/${k}.h" "${dir}/${k}.cu")
      if(ARG_SIMT_EMULATION)
        # The .cu as a C++ translation unit against the emulator.
        file(WRITE "${dir}/${k}_simt.cpp" "#define ATTNC_SIMT_EMULATION 1\n#include \"${k}.cu\"\n")
        list(APPEND sources "${dir}/${k}_simt.cpp")
      else()
        list(APPEND sources "${dir}/${k}.cu")
      endif()
    endforeach()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${exe} "${spec}" -target cuda --arch ${ARG_ARCH} -o "${dir}" ${extra}
      DEPENDS "${spec}" ${exe_dep} ${db_dep}
      COMMENT "attnc: compiling ${ARG_SPEC} for cuda ${ARG_ARCH}"
      VERBATIM)
    add_library(${ARG_TARGET} STATIC ${sources})
    target_include_directories(${ARG_TARGET} PUBLIC "${dir}")
    if(ARG_SIMT_EMULATION)
      set_source_files_properties(${sources} PROPERTIES OBJECT_DEPENDS "${outputs}")
      target_compile_features(${ARG_TARGET} PRIVATE cxx_std_17)
    else()
      string(REGEX REPLACE "^sm_" "" cuda_arch "${ARG_ARCH}")
      set_target_properties(${ARG_TARGET} PROPERTIES CUDA_ARCHITECTURES "${cuda_arch}" CUDA_STANDARD 17
                                                     CUDA_STANDARD_REQUIRED ON)
    endif()
    return()
  endif()
  set(outputs "${dir}/attnc_runtime.h")
  set(libs)
  foreach(k ${ARG_KERNELS})
    list(APPEND outputs "${dir}/${k}.h" "${dir}/${k}.a")
    list(APPEND libs "${dir}/${k}.a")
  endforeach()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${exe} "${spec}" -target ${ARG_ISA} -o "${dir}" ${extra}
    DEPENDS "${spec}" ${exe_dep} ${db_dep}
    COMMENT "attnc: compiling ${ARG_SPEC} for ${ARG_ISA}"
    VERBATIM)
  add_custom_target(${ARG_TARGET}_attnc_gen DEPENDS ${outputs})
  add_library(${ARG_TARGET} INTERFACE)
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_attnc_gen)
  target_include_directories(${ARG_TARGET} INTERFACE "${dir}")
  target_link_libraries(${ARG_TARGET} INTERFACE ${libs} Threads::Threads ${CMAKE_DL_LIBS} m)
endfunction()
