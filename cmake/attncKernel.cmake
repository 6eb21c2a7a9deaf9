# attnc_add_kernel: compile an .attn spec at build time into a linkable target.
#
#   attnc_add_kernel(TARGET <target> SPEC <file.attn> [BACKEND x86]
#                    [ISA x86|x86-avx2|x86-avx512] [KERNELS <name>...]
#                    [SCHEDULE "<knobs>"] [DECODE_SCHEDULE "<knobs>"])
#
# Runs `attnc SPEC -target ISA -o DIR` when the spec (or attnc) changes and
# gives <target>, an INTERFACE library that links every kernel's NAME.a (with
# the threads and dl libraries Halide's runtime needs) and puts DIR, holding
# NAME.h and attnc_runtime.h, on the include path. KERNELS names the
# attentions the spec defines (default: the spec's file name without .attn).
# Several kernels, from one spec or several, link into one program.
include_guard(GLOBAL)
find_package(Threads REQUIRED)

function(attnc_add_kernel)
  cmake_parse_arguments(ARG "" "TARGET;SPEC;BACKEND;ISA;SCHEDULE;DECODE_SCHEDULE" "KERNELS" ${ARGN})
  if(NOT ARG_TARGET OR NOT ARG_SPEC)
    message(FATAL_ERROR "attnc_add_kernel: TARGET and SPEC are required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "attnc_add_kernel: unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_BACKEND)
    set(ARG_BACKEND x86)
  endif()
  if(NOT ARG_BACKEND STREQUAL "x86")
    message(FATAL_ERROR "attnc_add_kernel: BACKEND ${ARG_BACKEND} is not supported (x86)")
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
  set(outputs "${dir}/attnc_runtime.h")
  set(libs)
  foreach(k ${ARG_KERNELS})
    list(APPEND outputs "${dir}/${k}.h" "${dir}/${k}.a")
    list(APPEND libs "${dir}/${k}.a")
  endforeach()
  set(extra)
  if(ARG_SCHEDULE)
    list(APPEND extra --schedule "${ARG_SCHEDULE}")
  endif()
  if(ARG_DECODE_SCHEDULE)
    list(APPEND extra --decode-schedule "${ARG_DECODE_SCHEDULE}")
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${exe} "${spec}" -target ${ARG_ISA} -o "${dir}" ${extra}
    DEPENDS "${spec}" ${exe_dep}
    COMMENT "attnc: compiling ${ARG_SPEC} for ${ARG_ISA}"
    VERBATIM)
  add_custom_target(${ARG_TARGET}_attnc_gen DEPENDS ${outputs})
  add_library(${ARG_TARGET} INTERFACE)
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_attnc_gen)
  target_include_directories(${ARG_TARGET} INTERFACE "${dir}")
  target_link_libraries(${ARG_TARGET} INTERFACE ${libs} Threads::Threads ${CMAKE_DL_LIBS} m)
endfunction()
