// Package ascii holds the one byte-scanning helper both the engine and
// the root package need on every message.
package ascii

import "encoding/binary"

// HasEightBit reports whether b has an octet above 127. It looks at eight
// octets at a time: it runs over every message and every MIME part.
func HasEightBit(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
