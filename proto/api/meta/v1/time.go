package metav1

import "time"

// Time and MicroTime hold seconds and nanoseconds since the Unix epoch. Upstream
// serialises Time with second and MicroTime with microsecond precision; the constructors
// truncate to that precision so an object reads back equal to what was written.
// A nil *Time is upstream's zero Time (JSON null, omitted here).

// Now returns the current time, truncated to seconds.
func Now() *Time { return NewTime(time.Now()) }

// NewTime returns t truncated to seconds, or nil for the zero time.Time, which upstream
// writes as null.
func NewTime(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{Seconds: t.Unix()}
}

// AsTime returns the time in the local zone, as upstream decodes it; nil is the zero time.
func (x *Time) AsTime() time.Time {
	if x == nil {
		return time.Time{}
	}
	return time.Unix(x.Seconds, int64(x.Nanos))
}

// IsZero reports whether x is nil or holds the zero time.Time.
func (x *Time) IsZero() bool { return x == nil || x.AsTime().IsZero() }

// NowMicro returns the current time, truncated to microseconds.
func NowMicro() *MicroTime { return NewMicroTime(time.Now()) }

// NewMicroTime returns t truncated to microseconds, or nil for the zero time.Time.
func NewMicroTime(t time.Time) *MicroTime {
	if t.IsZero() {
		return nil
	}
	return &MicroTime{Seconds: t.Unix(), Nanos: int32(t.Nanosecond() / 1000 * 1000)}
}

// AsTime returns the time in the local zone; nil is the zero time.
func (x *MicroTime) AsTime() time.Time {
	if x == nil {
		return time.Time{}
	}
	return time.Unix(x.Seconds, int64(x.Nanos))
}

// IsZero reports whether x is nil or holds the zero time.Time.
func (x *MicroTime) IsZero() bool { return x == nil || x.AsTime().IsZero() }
