# Runs the `// RUN:` lines of one .mlir test, as lit would: %s is the file,
# attnc-opt and FileCheck are the built tools. A test without RUN lines fails.
# cmake -DFILE=... -DOPT=... -DFILECHECK=... -P run_mlir_test.cmake
file(STRINGS "${FILE}" lines REGEX "^// RUN: ")
if(NOT lines)
  message(FATAL_ERROR "${FILE}: no `// RUN:` line")
endif()
foreach(line ${lines})
  string(REGEX REPLACE "^// RUN: " "" cmd "${line}")
  string(REPLACE "%s" "'${FILE}'" cmd "${cmd}")
  string(REGEX REPLACE "(^| )attnc-opt " "\\1'${OPT}' " cmd "${cmd}")
  string(REGEX REPLACE "(^| )FileCheck " "\\1'${FILECHECK}' " cmd "${cmd}")
  execute_process(COMMAND bash -o pipefail -c "${cmd}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endforeach()
