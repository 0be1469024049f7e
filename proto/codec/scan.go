package codec

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder reads JSON with a small hand-written scanner over the input bytes: it knows
// at every step which field it is in, so errors carry paths, and it never panics or
// recurses deeper than maxDepth whatever the input.

const maxDepth = 10000 // as encoding/json

type decoder struct {
	data    []byte
	pos     int
	depth   int
	path    []byte // the current field path, grown and cut back as the walk goes
	errs    FieldErrors
	scratch []byte // unescaped strings
}

func (d *decoder) syntax(msg string) error { return &SyntaxError{Offset: d.pos, Msg: msg} }

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// open consumes '{' or '['.
func (d *decoder) open() error {
	d.pos++
	d.depth++
	if d.depth > maxDepth {
		return d.syntax("exceeded max depth")
	}
	return nil
}

// nextMember moves to the next member of the object being read (n counts the members so
// far) and returns its key with d.pos at the value, or more=false after the closing '}'.
// The key may live in d.scratch: use it before reading another string.
func (d *decoder) nextMember(n *int) (key []byte, more bool, err error) {
	d.ws()
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return nil, false, nil
	}
	if *n > 0 {
		if d.peek() != ',' {
			return nil, false, d.syntax("expected ',' or '}' after object member")
		}
		d.pos++
		d.ws()
	}
	*n++
	if d.peek() != '"' {
		return nil, false, d.syntax("expected a string object key")
	}
	if key, err = d.readString(); err != nil {
		return nil, false, err
	}
	d.ws()
	if d.peek() != ':' {
		return nil, false, d.syntax("expected ':' after object key")
	}
	d.pos++
	d.ws()
	return key, true, nil
}

// nextElement is nextMember for arrays.
func (d *decoder) nextElement(n *int) (bool, error) {
	d.ws()
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return false, nil
	}
	if *n > 0 {
		if d.peek() != ',' {
			return false, d.syntax("expected ',' or ']' after array element")
		}
		d.pos++
		d.ws()
	}
	*n++
	return true, nil
}

// readString reads the string at d.pos. Without escapes or invalid UTF-8 the result
// aliases the input; otherwise it is d.scratch, valid until the next readString.
func (d *decoder) readString() ([]byte, error) {
	data := d.data
	for i := d.pos + 1; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			s := data[d.pos+1 : i]
			d.pos = i + 1
			return s, nil
		case c == '\\' || c < 0x20:
			return d.readStringSlow()
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return d.readStringSlow()
			}
			i += size
		}
	}
	return nil, d.syntax("unterminated string")
}

// readStringSlow unescapes like encoding/json: invalid UTF-8 and lone surrogates become
// U+FFFD, so every string we store is valid UTF-8 (proto requires it).
func (d *decoder) readStringSlow() ([]byte, error) {
	data := d.data
	out := d.scratch[:0]
	for i := d.pos + 1; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = out
			return out, nil
		case c < 0x20:
			d.pos = i
			return nil, d.syntax("control character in string")
		case c == '\\':
			if i+1 >= len(data) {
				d.pos = i
				return nil, d.syntax("unterminated string")
			}
			switch e := data[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(data[i+2:])
				if !ok {
					d.pos = i
					return nil, d.syntax("invalid \\u escape in string")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
						r2, ok = hex4(data[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				d.pos = i
				return nil, d.syntax("invalid escape in string")
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, data[i:i+size]...)
			}
			i += size
		}
	}
	d.scratch = out
	return nil, d.syntax("unterminated string")
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readNumber reads a JSON number literal and returns its text.
func (d *decoder) readNumber() ([]byte, error) {
	data, start, i := d.data, d.pos, d.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		d.pos = i
		return nil, d.syntax("invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			d.pos = i
			return nil, d.syntax("invalid number")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			d.pos = i
			return nil, d.syntax("invalid number")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	d.pos = i
	return data[start:i], nil
}

// isInteger reports whether a number literal has no fraction or exponent.
func isInteger(lit []byte) bool {
	for _, c := range lit {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.syntax("invalid literal")
	}
	d.pos += len(word)
	return nil
}

// skipValue consumes any value, checking its syntax.
func (d *decoder) skipValue() error {
	switch c := d.peek(); {
	case c == '"':
		_, err := d.readString()
		return err
	case c == '{':
		if err := d.open(); err != nil {
			return err
		}
		n := 0
		for {
			_, more, err := d.nextMember(&n)
			if err != nil || !more {
				return err
			}
			if err := d.skipValue(); err != nil {
				return err
			}
		}
	case c == '[':
		if err := d.open(); err != nil {
			return err
		}
		n := 0
		for {
			more, err := d.nextElement(&n)
			if err != nil || !more {
				return err
			}
			if err := d.skipValue(); err != nil {
				return err
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || isDigit(c):
		_, err := d.readNumber()
		return err
	case d.pos >= len(d.data):
		return d.syntax("unexpected end of input")
	}
	return d.syntax("invalid character " + strconv.QuoteRune(rune(d.data[d.pos])) + " looking for a value")
}

// describe consumes the value at d.pos and says what it is, for type errors:
// `string "3"`, `number 1.5`, `boolean true`, `null`, `object`, `array`.
func (d *decoder) describe() (string, error) {
	start := d.pos
	c := d.peek()
	switch {
	case c == '"':
		s, err := d.readString()
		if err != nil {
			return "", err
		}
		return "string " + quoteShort(s), nil
	case c == '{' || c == '[':
		if err := d.skipValue(); err != nil {
			return "", err
		}
		if c == '{' {
			return "object", nil
		}
		return "array", nil
	}
	if err := d.skipValue(); err != nil {
		return "", err
	}
	lit := d.data[start:d.pos]
	switch c {
	case 't', 'f':
		return "boolean " + string(lit), nil
	case 'n':
		return "null", nil
	}
	if len(lit) > 40 {
		return "number " + string(lit[:40]) + "...", nil
	}
	return "number " + string(lit), nil
}

// quoteShort quotes s for a message, cut to 64 bytes so a huge value cannot make a huge
// error.
func quoteShort(s []byte) string {
	if len(s) > 64 {
		return strconv.Quote(string(s[:64])) + "..."
	}
	return strconv.Quote(string(s))
}

func (d *decoder) pushField(name []byte) int {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	d.path = append(d.path, name...)
	return n
}

func (d *decoder) pushIndex(i int) int {
	n := len(d.path)
	d.path = append(d.path, '[')
	d.path = strconv.AppendInt(d.path, int64(i), 10)
	d.path = append(d.path, ']')
	return n
}

func (d *decoder) pushKey(k string) int {
	n := len(d.path)
	d.path = append(d.path, '[')
	d.path = append(d.path, k...)
	d.path = append(d.path, ']')
	return n
}

func (d *decoder) pop(n int) { d.path = d.path[:n] }

func (d *decoder) addError(e *FieldError) {
	if len(d.errs) < maxFieldErrors {
		d.errs = append(d.errs, e)
	}
}

// fail records a field error at the current path.
func (d *decoder) fail(msg string) { d.addError(&FieldError{Path: string(d.path), Msg: msg}) }

// mismatch records that the value at d.pos is not what the field needs, and skips it.
func (d *decoder) mismatch(expected string) error {
	got, err := d.describe()
	if err != nil {
		return err
	}
	d.fail("expected " + expected + ", got " + got)
	return nil
}
