# Runs CMD (arguments separated by |) and fails unless it exits with RC (and,
# with STDERR, unless its standard error holds that text).
string(REPLACE "|" ";" CMD "${CMD}")
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${rc}" STREQUAL "${RC}")
  message(FATAL_ERROR "expected exit ${RC}, got ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
# With STDERR set: standard error must contain it (a warning or a note).
if(DEFINED STDERR AND NOT "${STDERR}" STREQUAL "")
  string(FIND "${err}" "${STDERR}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "standard error lacks `${STDERR}`:\n${err}")
  endif()
endif()
