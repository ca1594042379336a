# Shared build helpers: one warnings target, one way to declare a module
# library, and one way to register a test so that none is dropped.

add_library(osprey_warnings INTERFACE)
target_compile_options(osprey_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wold-style-cast
  -Wno-sign-conversion
  # GCC 12 reports std::string concatenation as overlapping memcpy
  # (GCC bug 105329): a false positive that -Werror would turn fatal.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(OSPREY_WERROR)
  target_compile_options(osprey_warnings INTERFACE -Werror)
endif()
if(OSPREY_SANITIZE)
  target_compile_options(osprey_warnings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(osprey_warnings INTERFACE -fsanitize=address,undefined)
endif()

# OSPREY_FUZZ (clang only, the `fuzz` preset): every target is instrumented
# for libFuzzer's coverage and checked by ASan + UBSan.
if(OSPREY_FUZZ)
  target_compile_options(osprey_warnings INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(osprey_warnings INTERFACE -fsanitize=address,undefined)
endif()

# osprey_module(NAME SOURCES ... DEPS ... [PRIVATE_DEPS ...])
# Declares the library osprey_<NAME>. DEPS are linked PUBLIC: only what the
# module's headers include. Everything its .cc files alone use (other
# modules, third-party libraries) goes in PRIVATE_DEPS, so that it does not
# leak to the module's users. The link graph and scripts/check_layering.sh
# enforce the layering of docs/architecture.md.
function(osprey_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(osprey_${name} STATIC ${M_SOURCES})
  target_include_directories(osprey_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(osprey_${name} PUBLIC ${M_DEPS} PRIVATE osprey_warnings ${M_PRIVATE_DEPS})
endfunction()

# osprey_test(NAME SOURCES ... DEPS ... LABELS ...)
# Builds a GoogleTest binary and registers each of its tests with CTest.
function(osprey_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main osprey_warnings)
  target_compile_definitions(${name} PRIVATE
    OSPREY_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    OSPREY_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  include(GoogleTest)
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()

# osprey_fuzz(NAME DEPS ...)
# fuzz/NAME_fuzz.cc, a libFuzzer target (LLVMFuzzerTestOneInput) for one
# parser, with its seed corpus in fuzz/corpus/NAME/. Default build: linked
# with fuzz/driver.cc and registered as the ctest test fuzz_NAME (label
# `fuzz`): the corpus plus OSPREY_FUZZ_RUNS fixed-seed mutations, stopped
# after OSPREY_FUZZ_SECONDS. OSPREY_FUZZ=ON: a libFuzzer binary, built by the
# target fuzz_all, for `make fuzz` (docs/fuzzing.md).
set(OSPREY_FUZZ_RUNS 4000 CACHE STRING "Mutated inputs each fuzz_* ctest test runs")
set(OSPREY_FUZZ_SECONDS 8 CACHE STRING "Time bound of each fuzz_* ctest test's mutation loop")
function(osprey_fuzz name)
  cmake_parse_arguments(F "" "" "DEPS" ${ARGN})
  set(target fuzz_${name})
  if(OSPREY_FUZZ)
    add_executable(${target} ${name}_fuzz.cc)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_all ${target})
  else()
    add_executable(${target} ${name}_fuzz.cc driver.cc)
    add_test(NAME ${target}
      COMMAND ${target} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name}
              --runs ${OSPREY_FUZZ_RUNS} --max-seconds ${OSPREY_FUZZ_SECONDS}
      WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT 120)
  endif()
  target_link_libraries(${target} PRIVATE ${F_DEPS} osprey_warnings)
endfunction()
