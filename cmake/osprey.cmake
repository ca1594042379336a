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

# osprey_module(NAME SOURCES ... DEPS ... [PRIVATE_DEPS ...])
# Declares the library osprey_<NAME>. DEPS are the other modules it may use,
# as in docs/architecture.md; the link graph enforces the layering.
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
