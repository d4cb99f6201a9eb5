// Why a datagram could not be decoded. Hot-path codecs return this, never a Status:
// a malformed packet is counted and dropped.
#ifndef UDPBEAT_PROTO_DECODE_ERROR_H_
#define UDPBEAT_PROTO_DECODE_ERROR_H_

namespace udpbeat {

enum class DecodeError {
  kNone = 0,
  kTooShort,       // fewer bytes than the format's minimum
  kTruncated,      // the kernel cut it (larger than the receive buffer)
  kNotText,        // a text protocol saw a control or non-ASCII byte
  kBadKeyword,     // first word is not one this mode answers
  kBadSequence,    // sequence field missing or not a decimal number
  kBadTimestamp,   // timestamp field missing, not a number, or not finite
  kExtraFields,    // more fields than the format has
  kReplyTooLarge,  // the reply would be larger than its request: never sent
  kBadHmac,        // STAMP authenticated mode: the HMAC does not match (altered, or another key)
};

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_DECODE_ERROR_H_
