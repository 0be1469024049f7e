package metav1

import (
	"testing"
	"time"
)

func TestTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 4, 15, 0, 987654321, time.UTC)
	tm := NewTime(now)
	if tm.Seconds != now.Unix() || tm.Nanos != 0 {
		t.Errorf("NewTime = %v", tm)
	}
	if !tm.AsTime().Equal(now.Truncate(time.Second)) || tm.IsZero() {
		t.Errorf("AsTime = %v", tm.AsTime())
	}
	mt := NewMicroTime(now)
	if mt.Nanos != 987654000 || !mt.AsTime().Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("NewMicroTime = %v", mt)
	}
	var nt *Time
	var nm *MicroTime
	if !nt.IsZero() || !nt.AsTime().IsZero() || !nm.IsZero() || !nm.AsTime().IsZero() {
		t.Error("nil times must be zero")
	}
	if NewTime(time.Time{}) != nil || NewMicroTime(time.Time{}) != nil {
		t.Error("zero time.Time must give nil (upstream's null)")
	}
	if (&Time{}).IsZero() {
		t.Error("the epoch is not the zero time")
	}
	if d := time.Since(Now().AsTime()); d < 0 || d > time.Minute {
		t.Errorf("Now is off by %v", d)
	}
	if d := time.Since(NowMicro().AsTime()); d < 0 || d > time.Minute {
		t.Errorf("NowMicro is off by %v", d)
	}
}
