package metav1

import (
	"math"
	"testing"
)

// The expected strings are what upstream's resource.Quantity serialises for each input
// (its String after ParseQuantity), quirks included.
func TestParseQuantityCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0", "0"}, {"0n", "0"}, {"0Ki", "0"}, {"0.0", "0"}, {"-0", "0"}, {".", "0"}, {"-", "0"},
		{"1", "1"}, {"9", "9"}, {"+5", "+5"}, {"007", "007"}, // kept verbatim as upstream does
		{"1000m", "1"}, {"0.5", "500m"}, {".001", "1m"}, {"0.001", "1m"}, {"1.5", "1500m"},
		{"1.0", "1"}, {"1.500", "1.500"}, {"100.035k", "100.035k"}, {"1.", "1."}, {"1.G", "1.G"},
		{"1024Mi", "1Gi"}, {"1.5Gi", "1536Mi"}, {"1Ki", "1Ki"}, {"8Ki", "8Ki"}, {"7Mi", "7Mi"},
		{"100Mi", "100Mi"}, {"128Mi", "128Mi"}, {"0.5Mi", "512Ki"}, {"1Ei", "1Ei"}, {"8Ei", "9223372036854775807"},
		{"9Ei", "9223372036854775807"}, {"9223372036854775807Ki", "9223372036854775807"},
		{"100.035Ki", "102435840m"}, {".001Ki", "1024m"}, {".000001Ki", "1024u"},
		{".000000001Ki", "1024n"}, {".000000000001Ki", "2n"}, {"-1.5Gi", "-1536Mi"},
		{"5n", "5n"}, {"3.001n", "4n"}, {"0.9n", "1n"}, {"0.0000000005", "1n"},
		{"0.00000012345", "124n"}, {"-0.00000012345", "-124n"}, {"50k", "50k"}, {"5000", "5k"},
		{"1000M", "1G"}, {"1500", "1500"}, {"40T", "40T"}, {"12E", "12E"}, {"1000E", "1e21"},
		{"1E-3", "1E-3"}, {"1e3", "1e3"}, {"1e+3", "1e+3"}, {"1.2e3", "1200"}, {"1.3E+6", "1300e3"},
		{"1.1E-9", "2e-9"}, {"0.5e-9", "1e-9"}, {"1000e3", "1e6"}, {"10e3", "10e3"},
		{"18446744073709551616", "18446744073709551616"}, {"1.2345", "1234500u"},
		{"1e2147483647", "10e2147483646"}, {"1e-2147483648", "1e-9"},
		{"250m", "250m"}, {"2", "2"}, {"0.1", "100m"}, {"2.5", "2500m"},
	} {
		q, err := ParseQuantity(c.in)
		if err != nil {
			t.Errorf("ParseQuantity(%q): %v", c.in, err)
			continue
		}
		if got := q.AsString(); got != c.want {
			t.Errorf("ParseQuantity(%q) = %q, want %q", c.in, got, c.want)
		}
		// The canonical form is a fixed point.
		if again := MustParseQuantity(q.AsString()).AsString(); again != q.AsString() {
			t.Errorf("ParseQuantity(%q) = %q is not stable: %q", q.AsString(), again, q.AsString())
		}
	}
}

// The int64 fast path must agree with the exact path on everything it accepts.
func TestFastCanonicalMatchesExact(t *testing.T) {
	for _, num := range []string{"0", "1", "5", "7", "8", "10", "100", "1000", "1024", "1536", "999999999999999999", "123456789012345678", "3"} {
		for _, frac := range []string{"", ".", ".0", ".5", ".000", ".001", ".25", ".000000001", ".1234567"} {
			for _, suf := range []string{"", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3", "e-3", "e5", "e-7", "e19", "E+2"} {
				for _, sign := range []string{"", "-", "+"} {
					s := sign + num + frac + suf
					p, err := splitQuantity(s)
					if err != nil {
						t.Fatalf("%s: %v", s, err)
					}
					fast, ok := p.fastCanonical()
					if !ok {
						continue
					}
					a := p.amount()
					if exact := a.canonical(p.format); exact != fast {
						t.Errorf("%s: fast %q, exact %q", s, fast, exact)
					}
				}
			}
		}
	}
}

func TestParseQuantityInvalid(t *testing.T) {
	for _, c := range []struct {
		in   string
		want error
	}{
		{"", ErrQuantityFormat}, {"aoeu", ErrQuantityFormat}, {"1.1.M", ErrQuantityFormat},
		{"1+1.0M", ErrQuantityFormat}, {" 1", ErrQuantityFormat}, {"1 ", ErrQuantityFormat},
		{"0.1am", ErrQuantityFormat}, {"-3.01e-", ErrQuantitySuffix}, {"0.1mi", ErrQuantitySuffix},
		{".5i", ErrQuantitySuffix}, {"1i", ErrQuantitySuffix}, {"-3.01i", ErrQuantitySuffix},
		{"1K", ErrQuantitySuffix}, {"1e", ErrQuantitySuffix}, {"1e99999999999", ErrQuantitySuffix},
	} {
		if _, err := ParseQuantity(c.in); err != c.want {
			t.Errorf("ParseQuantity(%q) error = %v, want %v", c.in, err, c.want)
		}
	}
	want := "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
	if ErrQuantityFormat.Error() != want {
		t.Errorf("message %q", ErrQuantityFormat)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParseQuantity did not panic")
		}
	}()
	MustParseQuantity("Non-Numeric")
}

func TestQuantityValues(t *testing.T) {
	for _, c := range []struct {
		in           string
		value, milli int64
	}{
		{"0", 0, 0}, {"1", 1, 1000}, {"250m", 1, 250}, {"1.5", 2, 1500}, {"-1.5", -2, -1500},
		{"1n", 1, 1}, {"1500u", 1, 2}, {"1Gi", 1 << 30, 1000 << 30}, {"128Mi", 128 << 20, 128000 << 20},
		{"1.5Gi", 1536 << 20, 1536000 << 20}, {"1e3", 1000, 1000000}, {"1k", 1000, 1000000},
		{"9Ei", math.MaxInt64, math.MaxInt64}, {"1e30", math.MaxInt64, math.MaxInt64},
		{"-1e30", math.MinInt64, math.MinInt64}, {"9223372036854775807", math.MaxInt64, math.MaxInt64},
		{"9223372036854775.807k", math.MaxInt64, math.MaxInt64}, {"1e-2147483648", 1, 1},
		{"0.000000000001", 1, 1}, {"12345678901234567.89", 12345678901234568, math.MaxInt64},
	} {
		q := MustParseQuantity(c.in)
		if v := q.Value(); v != c.value {
			t.Errorf("%s.Value() = %d, want %d", c.in, v, c.value)
		}
		if v := q.MilliValue(); v != c.milli {
			t.Errorf("%s.MilliValue() = %d, want %d", c.in, v, c.milli)
		}
	}
	var nilQ *Quantity
	if nilQ.Value() != 0 || !nilQ.IsZero() || nilQ.AsString() != "0" || (&Quantity{}).MilliValue() != 0 {
		t.Error("nil and empty quantities must read as zero")
	}
	if MustParseQuantity("1m").IsZero() || !MustParseQuantity("0Gi").IsZero() {
		t.Error("IsZero")
	}
}

func TestQuantityCmp(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"0", "0", 0}, {"100m", "50m", 1}, {"50m", "100m", -1}, {"10000T", "100Gi", 1},
		{"1", "1000m", 0}, {"1Ki", "1024", 0}, {"-1", "1", -1}, {"-2", "-1", -1}, {"0", "-1n", 1},
		{"1e2000000000", "1", 1}, {"1e-2000000000", "1n", 0}, {"1e2000000000", "1e2000000001", -1},
		{"9223372036854775807", "9223372036854775808", -1},
	} {
		a, b := MustParseQuantity(c.a), MustParseQuantity(c.b)
		if got := a.Cmp(b); got != c.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := b.Cmp(a); got != -c.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
	if (*Quantity)(nil).Cmp(MustParseQuantity("1m")) != -1 {
		t.Error("nil compares as zero")
	}
}

func TestQuantityAddSub(t *testing.T) {
	for _, c := range []struct{ a, b, sum, diff string }{
		{"100m", "0", "100m", "100m"},
		{"0", "1Gi", "1Gi", "-1Gi"},
		{"0", "100m", "100m", "-100m"},
		{"1Gi", "512Mi", "1536Mi", "512Mi"},
		{"250m", "750m", "1", "-500m"},
		{"1", "250m", "1250m", "750m"},
		{"1Ki", "1", "1025", "1023"},
		{"2", "2", "4", "0"},
		{"1e3", "1", "1001", "999"},
		{"1e2000000000", "1m", "100e1999999998", "100e1999999998"},
	} {
		a, b := MustParseQuantity(c.a), MustParseQuantity(c.b)
		if got := a.Add(b).AsString(); got != c.sum {
			t.Errorf("%s + %s = %s, want %s", c.a, c.b, got, c.sum)
		}
		if got := a.Sub(b).AsString(); got != c.diff {
			t.Errorf("%s - %s = %s, want %s", c.a, c.b, got, c.diff)
		}
		if a.AsString() != MustParseQuantity(c.a).AsString() {
			t.Errorf("Add changed its receiver")
		}
	}
	var sum *Quantity
	for _, s := range []string{"100m", "200m", "700m"} {
		sum = sum.Add(MustParseQuantity(s))
	}
	if sum.AsString() != "1" {
		t.Errorf("sum = %s", sum.AsString())
	}
}

func TestNewQuantity(t *testing.T) {
	for _, c := range []struct {
		q    *Quantity
		want string
	}{
		{NewQuantity(1, DecimalSI), "1"}, {NewQuantity(1000, DecimalSI), "1k"},
		{NewQuantity(1234000, DecimalSI), "1234k"}, {NewQuantity(1024, BinarySI), "1Ki"},
		{NewQuantity(1000000, "bogus"), "1e6"}, {NewQuantity(1024*1024, BinarySI), "1Mi"},
		{NewQuantity(5, BinarySI), "5"}, {NewQuantity(0, BinarySI), "0"},
		{NewQuantity(1001<<30, BinarySI), "1001Gi"}, {NewQuantity(1025, BinarySI), "1025"},
		{NewQuantity(math.MaxInt64, BinarySI), "9223372036854775807"},
		{NewQuantity(math.MinInt64, DecimalSI), "-9223372036854775808"},
		{NewQuantity(-3<<20, BinarySI), "-3Mi"},
		{NewMilliQuantity(1, DecimalSI), "1m"}, {NewMilliQuantity(1000, DecimalSI), "1"},
		{NewMilliQuantity(1234000, DecimalSI), "1234"}, {NewMilliQuantity(1024, BinarySI), "1024m"},
		{NewMilliQuantity(1000000, "bogus"), "1e3"}, {NewMilliQuantity(1024*1024, BinarySI), "1048576m"},
		{NewMilliQuantity(2048000, BinarySI), "2Ki"}, {NewMilliQuantity(250, DecimalSI), "250m"},
	} {
		if got := c.q.AsString(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func BenchmarkParseQuantity(b *testing.B) {
	for _, s := range []string{"128Mi", "1000m", "1.5Gi"} {
		b.Run(s, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, _ = ParseQuantity(s)
			}
		})
	}
}

func BenchmarkMilliValue(b *testing.B) {
	q := MustParseQuantity("250m")
	for i := 0; i < b.N; i++ {
		_ = q.MilliValue()
	}
}

// FuzzParseQuantity: no panics, the canonical form is a fixed point with the same value,
// and the int64 fast paths agree with the exact ones.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"1", "250m", "1.5Gi", "1e3", "-0.9n", "9Ei", ".", "1.G", "+007", "1e-2147483648"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuantity(s)
		if err != nil {
			return
		}
		again, err := ParseQuantity(q.AsString())
		if err != nil || again.AsString() != q.AsString() || again.Cmp(q) != 0 {
			t.Fatalf("%q -> %q -> %q (%v)", s, q.AsString(), again.AsString(), err)
		}
		if p, err := splitQuantity(s); err == nil {
			fast, ok := p.fastCanonical()
			if a := p.amount(); ok && fast != a.canonical(p.format) {
				t.Fatalf("%q: fast %q exact %q", s, fast, a.canonical(p.format))
			}
		}
		p, _ := splitQuantity(q.AsString())
		a := p.amount()
		for _, scale := range []int64{0, -3} {
			if v, ok := p.fastScaled(scale); ok && v != a.ceilInt64(scale) {
				t.Fatalf("%q scale %d: fast %d exact %d", q.AsString(), scale, v, a.ceilInt64(scale))
			}
		}
		if c, ok := p.fastCanonical(); ok && c != a.canonical(p.format) {
			t.Fatalf("%q: fast %q exact %q", q.AsString(), c, a.canonical(p.format))
		}
		_ = q.Add(again).Sub(q).Value()
	})
}
