# Runs PROG (two kernels linked, both called) with ATTNC_NUM_THREADS=VALUE and
# checks standard error: exactly one warning naming the value when it is not
# a thread count from 1 to 1024 (WARN=1), none otherwise (WARN=0).
execute_process(COMMAND ${CMAKE_COMMAND} -E env "ATTNC_NUM_THREADS=${VALUE}" "${PROG}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit ${rc}: ${err}")
endif()
string(REPLACE ";" "," flat "${err}")  # `;` would split CMake list items
string(REGEX MATCHALL "attnc: warning: ATTNC_NUM_THREADS=`[^`]*` is not a thread count from 1 to 1024, using [0-9]+" w "${flat}")
list(LENGTH w n)
if(NOT n EQUAL WARN)
  message(FATAL_ERROR "ATTNC_NUM_THREADS=${VALUE}: expected ${WARN} warning(s), got ${n}:\n${err}")
endif()
