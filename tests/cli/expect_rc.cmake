# Runs CMD (arguments separated by |) and fails unless it exits with RC.
string(REPLACE "|" ";" CMD "${CMD}")
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${rc}" STREQUAL "${RC}")
  message(FATAL_ERROR "expected exit ${RC}, got ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
