package metav1

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Quantity semantics follow upstream's k8s.io/apimachinery resource.Quantity for the
// string form: the message keeps only the string, always in the form upstream would
// serialise, so the JSON codec copies it through and every reader parses it. Build
// quantities with ParseQuantity, NewQuantity or NewMilliQuantity, never by setting String_
// by hand. Note that the generated String() method is protobuf's text form; AsString
// returns the quantity itself ("250m").
//
// Values are exact decimals (math/big), rounded away from zero to nano units at parse time
// as upstream does ("0.9n" -> "1n"); binary-suffixed values are capped at 2^63-1.

// Format is how a quantity is written: upstream keeps the suffix family of the input.
type Format string

const (
	DecimalExponent = Format("DecimalExponent") // 12e6
	BinarySI        = Format("BinarySI")        // 12Mi (12 * 2^20)
	DecimalSI       = Format("DecimalSI")       // 12M (12 * 10^6)
)

const quantityRegexp = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

// The parse errors carry upstream's messages word for word.
var (
	ErrQuantityFormat  = errors.New("quantities must match the regular expression '" + quantityRegexp + "'")
	ErrQuantityNumeric = errors.New("unable to parse numeric part of quantity")
	ErrQuantitySuffix  = errors.New("unable to parse quantity's suffix")
)

// ParseQuantity parses s ("250m", "1.5Gi", "1e3") and returns it in canonical form:
// "1000m" -> "1", "0.5" -> "500m", "1024Mi" -> "1Gi", "1.5Gi" -> "1536Mi". Like upstream,
// an input that already looks canonical is kept verbatim (so "+5" and "100Mi" stay).
func ParseQuantity(s string) (*Quantity, error) {
	if s == "" {
		return nil, ErrQuantityFormat
	}
	if s == "0" {
		return &Quantity{String_: "0"}, nil
	}
	p, err := splitQuantity(s)
	if err != nil {
		return nil, err
	}
	if p.keepsItsForm() {
		return &Quantity{String_: s}, nil
	}
	if c, ok := p.fastCanonical(); ok {
		return &Quantity{String_: c}, nil
	}
	a := p.amount() // may change p.format
	return &Quantity{String_: a.canonical(p.format)}, nil
}

// MustParseQuantity is ParseQuantity for constants and tests; it panics on bad input.
func MustParseQuantity(s string) *Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(fmt.Errorf("cannot parse '%v': %v", s, err))
	}
	return q
}

// NewQuantity returns the quantity value in the given format ("1Ki" for 1024 BinarySI).
func NewQuantity(value int64, format Format) *Quantity {
	return &Quantity{String_: newAmount(value, 0).canonical(format)}
}

// NewMilliQuantity returns value/1000 in the given format ("250m" for 250). BinarySI
// values that are not whole are written as DecimalSI, as upstream.
func NewMilliQuantity(value int64, format Format) *Quantity {
	return &Quantity{String_: newAmount(value, -3).canonical(format)}
}

// AsString returns the quantity as written in JSON ("250m"); nil and empty are "0".
func (q *Quantity) AsString() string {
	if q == nil || q.String_ == "" {
		return "0"
	}
	return q.String_
}

// Value returns the quantity rounded up (away from zero) to an integer. Values beyond
// int64 saturate at math.MaxInt64 / math.MinInt64 (upstream leaves them undefined). A nil
// or unparsable quantity is 0.
func (q *Quantity) Value() int64 { return q.scaledValue(0) }

// MilliValue returns ceil(q * 1000), saturating like Value: "250m" -> 250, "1" -> 1000.
func (q *Quantity) MilliValue() int64 { return q.scaledValue(-3) }

// IsZero reports whether the quantity is zero (nil and unparsable count as zero).
func (q *Quantity) IsZero() bool {
	a, _ := q.parsed()
	return a.u.Sign() == 0
}

// Cmp returns -1, 0 or 1 as q is less than, equal to or greater than other.
func (q *Quantity) Cmp(other *Quantity) int {
	a, _ := q.parsed()
	b, _ := other.parsed()
	return a.cmp(b)
}

// Add returns q + y as a new quantity, in q's format (y's when q is zero), as upstream.
func (q *Quantity) Add(y *Quantity) *Quantity { return q.combine(y, false) }

// Sub returns q - y as a new quantity, in q's format (y's when q is zero), as upstream.
func (q *Quantity) Sub(y *Quantity) *Quantity { return q.combine(y, true) }

func (q *Quantity) combine(y *Quantity, negate bool) *Quantity {
	a, fa := q.parsed()
	b, fb := y.parsed()
	if negate {
		b.u.Neg(b.u)
	}
	format := fa
	if a.u.Sign() == 0 {
		format = fb
	}
	return &Quantity{String_: a.add(b).canonical(format)}
}

// parsed returns the exact value and format of q; nil or invalid quantities are zero in
// DecimalSI, because the accessors cannot fail and validation rejects such objects first.
func (q *Quantity) parsed() (amount, Format) {
	if q == nil || q.String_ == "" || q.String_ == "0" {
		return newAmount(0, 0), DecimalSI
	}
	p, err := splitQuantity(q.String_)
	if err != nil {
		return newAmount(0, 0), DecimalSI
	}
	a := p.amount() // may change p.format
	return a, p.format
}

func (q *Quantity) scaledValue(scale int64) int64 {
	if q == nil || q.String_ == "" {
		return 0
	}
	p, err := splitQuantity(q.String_)
	if err != nil {
		return 0
	}
	// Resource requests are summed for every pod on every node; most of them fit in an
	// int64 and need no big arithmetic.
	if v, ok := p.fastScaled(scale); ok {
		return v
	}
	return p.amount().ceilInt64(scale)
}

// quantityParts is a quantity string split as upstream's scanner does.
type quantityParts struct {
	positive   bool
	num, denom string // digits around '.'; num has no leading zeros and is "0" when empty
	base       int    // 10 or 2
	exp        int64  // power of base given by the suffix
	format     Format
	raw        string
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// splitQuantity scans s the way upstream's parseQuantityString does, quirks included:
// "." and "-" parse as zero and "1.G" is accepted.
func splitQuantity(s string) (quantityParts, error) {
	p := quantityParts{positive: true, num: "0", raw: s}
	pos, end := 0, len(s)
	if pos < end && (s[0] == '-' || s[0] == '+') {
		p.positive = s[0] == '+'
		pos++
	}
	for pos < end && s[pos] == '0' {
		pos++
	}
	suffix := ""
	if pos < end {
		start := pos
		for pos < end && isDigit(s[pos]) {
			pos++
		}
		if pos > start {
			p.num = s[start:pos]
		}
		if pos < end && s[pos] == '.' {
			pos++
			start = pos
			for pos < end && isDigit(s[pos]) {
				pos++
			}
			p.denom = s[start:pos]
		}
		suffixStart := pos
		for pos < end && strings.IndexByte("eEinumkKMGTP", s[pos]) >= 0 {
			pos++
		}
		if pos < end && (s[pos] == '-' || s[pos] == '+') {
			pos++
		}
		for pos < end && isDigit(s[pos]) {
			pos++
		}
		if pos < end {
			return p, ErrQuantityFormat
		}
		suffix = s[suffixStart:]
	}
	var ok bool
	p.base, p.exp, p.format, ok = interpretSuffix(suffix)
	if !ok {
		return p, ErrQuantitySuffix
	}
	return p, nil
}

var decimalSuffixes = map[string]int64{"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
var binarySuffixes = map[string]int64{"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

func interpretSuffix(s string) (base int, exp int64, f Format, ok bool) {
	if e, ok := decimalSuffixes[s]; ok {
		return 10, e, DecimalSI, true
	}
	if e, ok := binarySuffixes[s]; ok {
		return 2, e, BinarySI, true
	}
	if len(s) > 1 && (s[0] == 'e' || s[0] == 'E') {
		// Upstream truncates a 64-bit exponent to int32; we reject what does not fit.
		e, err := strconv.ParseInt(s[1:], 10, 32)
		if err != nil {
			return 0, 0, DecimalExponent, false
		}
		return 10, e, DecimalExponent, true
	}
	return 0, 0, DecimalExponent, false
}

// keepsItsForm reports whether upstream would keep the input string verbatim: its int64
// fast path succeeds and the digits are already in canonical shape.
func (p quantityParts) keepsItsForm() bool {
	digits := len(p.num) + len(p.denom)
	switch p.format {
	case BinarySI:
		if p.denom != "" || 15-len(p.num)-int(float32(p.exp)*3/10)-1 < 0 {
			return false
		}
		v, ok := parseDigits(p.num)
		if !ok || v > math.MaxInt64>>p.exp {
			return false
		}
		return v&0x07 != 0
	default:
		if 18-digits < 0 {
			return false
		}
		scale := p.exp - int64(len(p.denom))
		if scale < -9 {
			return false
		}
		shifted := p.num + p.denom
		return scale%3 == 0 && !strings.HasSuffix(shifted, "000") && shifted[0] != '0'
	}
}

// parseDigits parses up to 18 decimal digits without allocating.
func parseDigits(s string) (int64, bool) {
	if len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*10 + int64(s[i]-'0')
	}
	return v, true
}

var pow10s = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// fastScaled computes ceil(value / 10^scale) in int64 when nothing can overflow.
func (p quantityParts) fastScaled(scale int64) (int64, bool) {
	if len(p.num)+len(p.denom) > 18 {
		return 0, false
	}
	n, _ := parseDigits(p.num)
	d, _ := parseDigits(p.denom)
	v := n*pow10s[len(p.denom)] + d
	var e int64
	if p.base == 2 {
		if p.denom != "" || v > math.MaxInt64>>p.exp {
			return 0, false
		}
		v <<= p.exp
		e = -scale
	} else {
		e = p.exp - int64(len(p.denom)) - scale
	}
	// Parsing rounds to nano away from zero first; ceiling to a coarser unit afterwards
	// gives the same result as ceiling directly, so no nano step is needed here.
	switch {
	case e >= 0:
		if e > 18 || (v != 0 && v > math.MaxInt64/pow10s[e]) {
			return 0, false
		}
		v *= pow10s[e]
	case -e <= 18:
		div := pow10s[-e]
		r := v % div
		v /= div
		if r != 0 {
			v++
		}
	default:
		return 0, false
	}
	if !p.positive {
		v = -v
	}
	return v, true
}

// fastCanonical is canonical() for inputs whose value fits an int64 and needs no
// rounding, without math/big: the usual "1000m", "0.5", "2048Mi".
func (p quantityParts) fastCanonical() (string, bool) {
	if len(p.num)+len(p.denom) > 18 {
		return "", false
	}
	n, _ := parseDigits(p.num)
	d, _ := parseDigits(p.denom)
	v := n*pow10s[len(p.denom)] + d
	exp := -int64(len(p.denom))
	if p.base == 2 {
		if p.denom != "" || v > math.MaxInt64>>p.exp {
			return "", false
		}
		v <<= p.exp
	} else {
		exp += p.exp
	}
	if exp < -9 {
		return "", false // needs rounding to nano
	}
	if v == 0 {
		return "0", true
	}
	var buf [32]byte
	b := buf[:0]
	if !p.positive {
		b = append(b, '-')
	}
	if p.base == 2 && v >= 1024 {
		pow := 0
		for pow < len(binarySuffixByPow)-1 && v%1024 == 0 {
			v /= 1024
			pow++
		}
		b = strconv.AppendInt(b, v, 10)
		return string(append(b, binarySuffixByPow[pow]...)), true
	}
	format := p.format
	if p.base == 2 {
		format = DecimalSI // below 1024: upstream avoids the binary form
	}
	for v%10 == 0 {
		v /= 10
		exp++
	}
	for exp%3 != 0 {
		if v > math.MaxInt64/10 {
			return "", false
		}
		v *= 10
		exp--
	}
	b = strconv.AppendInt(b, v, 10)
	if format == DecimalSI && exp >= -9 && exp <= 18 {
		b = append(b, decimalSuffixByExp[(exp+9)/3]...)
	} else if exp != 0 {
		b = append(b, 'e')
		b = strconv.AppendInt(b, exp, 10)
	}
	return string(b), true
}

// amount is the exact value u * 10^exp.
type amount struct {
	u   *big.Int
	exp int64
}

func newAmount(v, exp int64) amount { return amount{u: big.NewInt(v), exp: exp} }

var (
	bigTen    = big.NewInt(10)
	bigMaxI64 = big.NewInt(math.MaxInt64)
	bigMinI64 = big.NewInt(math.MinInt64)
)

// amount turns the parts into the value upstream's slow path computes: nano-rounded and,
// for BinarySI, capped at 2^63-1. It also adjusts p.format as upstream does.
func (p *quantityParts) amount() amount {
	u, _ := new(big.Int).SetString(p.num+p.denom, 10) // digits only: cannot fail
	a := amount{u: u, exp: -int64(len(p.denom))}
	if p.base == 2 {
		a.u.Lsh(a.u, uint(p.exp))
	} else {
		a.exp += p.exp
	}
	if !p.positive {
		a.u.Neg(a.u)
	}
	a = a.roundUp(-9)
	if p.format == BinarySI {
		if a.cmpAbs(amount{u: bigMaxI64}) > 0 {
			a = amount{u: new(big.Int).Set(bigMaxI64)}
			if !p.positive {
				a.u.Neg(a.u)
			}
		}
		if a.u.Sign() != 0 && a.cmpAbs(newAmount(1, 0)) < 0 {
			p.format = DecimalSI
		}
	}
	return a
}

func pow10(n int64) *big.Int { return new(big.Int).Exp(bigTen, big.NewInt(n), nil) }

// digitBounds bounds the number of decimal digits of |u| (u != 0) from its bit length,
// so that magnitudes compare without expanding 10^exp.
// The bounds are one digit loose on each side so float rounding can never make them wrong.
func digitBounds(u *big.Int) (lo, hi int64) {
	bits := float64(u.BitLen())
	return int64((bits - 1) * math.Log10(2)), int64(bits*math.Log10(2)) + 2
}

// roundUp rounds a away from zero to a multiple of 10^minExp.
func (a amount) roundUp(minExp int64) amount {
	if a.exp >= minExp {
		return a
	}
	shift := minExp - a.exp
	if a.u.Sign() == 0 {
		return amount{u: new(big.Int), exp: minExp}
	}
	if _, hi := digitBounds(a.u); shift > hi {
		// |a| is below one unit: it becomes exactly one unit.
		return amount{u: big.NewInt(int64(a.u.Sign())), exp: minExp}
	}
	q, r := new(big.Int).QuoRem(a.u, pow10(shift), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(int64(a.u.Sign())))
	}
	return amount{u: q, exp: minExp}
}

// cmpAbs compares |a| and |b| without building huge powers of ten.
func (a amount) cmpAbs(b amount) int {
	sa, sb := a.u.Sign(), b.u.Sign()
	switch {
	case sa == 0 && sb == 0:
		return 0
	case sa == 0:
		return -1
	case sb == 0:
		return 1
	}
	aLo, aHi := digitBounds(a.u)
	bLo, bHi := digitBounds(b.u)
	if aHi+a.exp < bLo+b.exp {
		return -1
	}
	if aLo+a.exp > bHi+b.exp {
		return 1
	}
	// Same order of magnitude: the exponent gap is bounded by the digit counts.
	x, y := new(big.Int).Abs(a.u), new(big.Int).Abs(b.u)
	if a.exp > b.exp {
		x.Mul(x, pow10(a.exp-b.exp))
	} else if b.exp > a.exp {
		y.Mul(y, pow10(b.exp-a.exp))
	}
	return x.Cmp(y)
}

func (a amount) cmp(b amount) int {
	sa, sb := a.u.Sign(), b.u.Sign()
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	if sa < 0 {
		return -a.cmpAbs(b)
	}
	return a.cmpAbs(b)
}

// maxAlign bounds the power of ten add multiplies by. Beyond it the smaller operand is
// below 10^-1000 of the larger one and is dropped, instead of allocating gigabytes for
// sums like "1e2000000000" + "1m" (upstream would try).
const maxAlign = 1000

func (a amount) add(b amount) amount {
	if b.u.Sign() == 0 {
		return a
	}
	if a.u.Sign() == 0 {
		return b
	}
	if d := a.exp - b.exp; d > maxAlign || d < -maxAlign {
		if a.cmpAbs(b) >= 0 {
			return a
		}
		return b
	}
	x, y, exp := new(big.Int).Set(a.u), new(big.Int).Set(b.u), a.exp
	if a.exp > b.exp {
		x.Mul(x, pow10(a.exp-b.exp))
		exp = b.exp
	} else if b.exp > a.exp {
		y.Mul(y, pow10(b.exp-a.exp))
	}
	return amount{u: x.Add(x, y), exp: exp}
}

// ceilInt64 returns a / 10^scale rounded away from zero, saturating at the int64 range.
func (a amount) ceilInt64(scale int64) int64 {
	if a.u.Sign() == 0 {
		return 0
	}
	r := amount{u: a.u, exp: a.exp - scale}.roundUp(0)
	if lo, _ := digitBounds(r.u); lo+r.exp > 19 {
		return saturate(r.u.Sign())
	}
	v := new(big.Int).Mul(r.u, pow10(r.exp))
	if v.Cmp(bigMaxI64) > 0 || v.Cmp(bigMinI64) < 0 {
		return saturate(v.Sign())
	}
	return v.Int64()
}

func saturate(sign int) int64 {
	if sign < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}

// canonical writes a as upstream's Quantity.String does for the given format.
func (a amount) canonical(format Format) string {
	if a.u.Sign() == 0 {
		return "0"
	}
	switch format {
	case DecimalSI, DecimalExponent:
	case BinarySI:
		if a.cmpAbs(newAmount(1024, 0)) < 0 {
			format = DecimalSI // avoids rounding and confusion, as upstream
		} else if s, ok := a.binary(); ok {
			return s
		} else {
			format = DecimalSI // not a whole number: do not lose precision
		}
	default:
		format = DecimalExponent
	}
	digits := new(big.Int).Abs(a.u).Text(10)
	exp := a.exp
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	digits = trimmed
	for exp%3 != 0 {
		digits += "0"
		exp--
	}
	var b strings.Builder
	if a.u.Sign() < 0 {
		b.WriteByte('-')
	}
	b.WriteString(digits)
	if format == DecimalSI && exp >= -9 && exp <= 18 {
		b.WriteString(decimalSuffixByExp[(exp+9)/3])
	} else if exp != 0 {
		// DecimalSI has no suffix beyond E (10^18): use the exponent form, as upstream now does.
		b.WriteByte('e')
		b.WriteString(strconv.FormatInt(exp, 10))
	}
	return b.String()
}

var decimalSuffixByExp = [...]string{"n", "u", "m", "", "k", "M", "G", "T", "P", "E"}
var binarySuffixByPow = [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// binary writes a whole a as <n><binary suffix> with the largest power of 1024 that
// divides it (at most Ei); ok is false if a is not whole or absurdly large.
func (a amount) binary() (string, bool) {
	if a.exp < 0 {
		q, r := new(big.Int).QuoRem(a.u, pow10(-a.exp), new(big.Int))
		if r.Sign() != 0 {
			return "", false
		}
		a = amount{u: q}
	}
	if _, hi := digitBounds(a.u); hi+a.exp > 60 {
		return "", false
	}
	n := new(big.Int).Mul(a.u, pow10(a.exp))
	neg := n.Sign() < 0
	n.Abs(n)
	pow := 0
	k := big.NewInt(1024)
	r := new(big.Int)
	for pow < len(binarySuffixByPow)-1 {
		q, rem := new(big.Int).QuoRem(n, k, r)
		if rem.Sign() != 0 || q.Sign() == 0 {
			break
		}
		n = q
		pow++
	}
	s := n.Text(10) + binarySuffixByPow[pow]
	if neg {
		s = "-" + s
	}
	return s, true
}
