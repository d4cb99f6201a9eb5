#include "udpbeat/cli/cli.h"

int main(int argc, char** argv) { return udpbeat::RunCli(argc, argv); }
