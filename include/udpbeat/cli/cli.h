// The command line: subcommands, options, help, and the mapping of errors to one
// "udpbeat: ..." line and an exit status. The only code that sees CLI11.
#ifndef UDPBEAT_CLI_CLI_H_
#define UDPBEAT_CLI_CLI_H_

namespace udpbeat {

// Parses argv, runs the subcommand, returns the process exit status (base/exit_code.h).
int RunCli(int argc, char** argv);

}  // namespace udpbeat

#endif  // UDPBEAT_CLI_CLI_H_
