// osprey: the command-line entry point (dispatch.h).
#include "osprey/cli/dispatch.h"

int main(int argc, char** argv) { return osprey::cli::Main(argc, argv); }
