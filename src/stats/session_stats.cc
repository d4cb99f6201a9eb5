// SessionStats is header-only: its members are thin forwards that must inline
// into the session's hot path. This file keeps the one-concept-per-pair layout
// and checks the header compiles on its own.
#include "udpbeat/stats/session_stats.h"
