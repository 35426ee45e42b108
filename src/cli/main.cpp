#include "command.h"

int main(int argc, char** argv) { return chickenseg::cli::run_cli(argc, argv); }
