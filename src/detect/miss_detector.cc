// MissDetector is header-only (a counter); this file keeps the one-pair-per-
// concept layout and gives the library a translation unit that checks the
// header compiles on its own.
#include "udpbeat/detect/miss_detector.h"
