package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeText makes remote text safe to print on one line of a terminal:
// printable text is kept as it is; control characters (escape sequences,
// carriage returns, newlines that would forge a "msg" or "member" line),
// Unicode format and separator characters (bidirectional overrides, line
// separators) and invalid UTF-8 are written as Go escapes (\x1b, \n,
// \u202e, \xff), and a backslash as \\, so the printed form is unambiguous.
func escapeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || r == '\\' || r < 0x20 || r == 0x7f || r >= 0x80 && unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune: C0/C1 controls, format characters (bidi overrides, zero
// width), line and paragraph separators, and anything not printable.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
		!unicode.IsPrint(r) && r != ' '
}
