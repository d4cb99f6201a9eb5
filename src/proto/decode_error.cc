#include "udpbeat/proto/decode_error.h"

namespace udpbeat {

std::string_view DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kNone: return "none";
    case DecodeError::kTooShort: return "too_short";
    case DecodeError::kTruncated: return "truncated";
    case DecodeError::kNotText: return "not_text";
    case DecodeError::kBadKeyword: return "bad_keyword";
    case DecodeError::kBadSequence: return "bad_sequence";
    case DecodeError::kBadTimestamp: return "bad_timestamp";
    case DecodeError::kExtraFields: return "extra_fields";
    case DecodeError::kReplyTooLarge: return "reply_too_large";
    case DecodeError::kBadHmac: return "bad_hmac";
  }
  return "unknown";
}

}  // namespace udpbeat
