// Invariant checks for the fuzz targets: a failed check prints what broke
// and aborts, which both libFuzzer and the ctest driver (driver.cc) report
// as a crash, with the input saved.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, what)                                                             \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: invariant failed: %s: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                             \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)
