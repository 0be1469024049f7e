package metav1

import "testing"

func TestIntOrString(t *testing.T) {
	if s := FromInt(3).AsString(); s != "3" {
		t.Errorf("FromInt(3).AsString() = %q", s)
	}
	if s := FromString("25%").AsString(); s != "25%" {
		t.Errorf("FromString.AsString() = %q", s)
	}
	if FromInt(7).IntValue() != 7 || FromString("12").IntValue() != 12 || FromString("x").IntValue() != 0 {
		t.Error("IntValue")
	}
	for _, c := range []struct {
		v       *IntOrString
		total   int
		roundUp bool
		want    int
		err     bool
	}{
		{FromInt(3), 10, true, 3, false},
		{FromString("25%"), 10, true, 3, false},
		{FromString("25%"), 10, false, 2, false},
		{FromString("100%"), 7, false, 7, false},
		{FromString("0%"), 7, true, 0, false},
		{FromString("33%"), 3, true, 1, false},
		{FromString("3"), 10, true, 0, true},
		{FromString("x%"), 10, true, 0, true},
		{&IntOrString{Type: 7}, 10, true, 0, true},
		{nil, 10, true, 0, true},
	} {
		got, err := GetScaledValueFromIntOrPercent(c.v, c.total, c.roundUp)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("GetScaledValueFromIntOrPercent(%v, %d, %v) = %d, %v", c.v.AsString(), c.total, c.roundUp, got, err)
		}
	}
}
