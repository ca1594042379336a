// The command line: finds the sub-command (one or two words), parses its
// options and runs it; see commands.h for exit codes. The osprey binary's
// main() is only this; the test build (osprey_testbin) calls it too.
#pragma once

namespace osprey::cli {

int Main(int argc, char** argv);

}  // namespace osprey::cli
