package metav1

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The values of IntOrString.Type, as upstream's intstr.Type.
const (
	IntOrStringInt    int32 = 0
	IntOrStringString int32 = 1
)

// FromInt returns an IntOrString holding an integer.
func FromInt(v int32) *IntOrString { return &IntOrString{Type: IntOrStringInt, IntVal: v} }

// FromString returns an IntOrString holding a string ("25%", "http").
func FromString(s string) *IntOrString { return &IntOrString{Type: IntOrStringString, StrVal: s} }

// AsString returns the value as text ("3", "25%"), as upstream's IntOrString.String.
// (The generated String method is protobuf's text form and cannot be replaced.)
func (x *IntOrString) AsString() string {
	if x == nil {
		return "<nil>"
	}
	if x.Type == IntOrStringString {
		return x.StrVal
	}
	return strconv.Itoa(int(x.IntVal))
}

// IntValue returns the integer, or the string parsed as an integer (0 if it is not one),
// as upstream.
func (x *IntOrString) IntValue() int {
	if x == nil {
		return 0
	}
	if x.Type == IntOrStringString {
		i, _ := strconv.Atoi(x.StrVal)
		return i
	}
	return int(x.IntVal)
}

// GetScaledValueFromIntOrPercent returns an integer as is, or a percentage ("25%") of total,
// rounded up or down; a string that is not a percentage is an error. Used for maxSurge,
// maxUnavailable and the like, with upstream's arithmetic.
func GetScaledValueFromIntOrPercent(intOrPercent *IntOrString, total int, roundUp bool) (int, error) {
	if intOrPercent == nil {
		return 0, errors.New("nil value for IntOrString")
	}
	value, isPercent, err := intOrPercentValue(intOrPercent)
	if err != nil {
		return 0, fmt.Errorf("invalid value for IntOrString: %v", err)
	}
	if isPercent {
		if roundUp {
			value = int(math.Ceil(float64(value) * float64(total) / 100))
		} else {
			value = int(math.Floor(float64(value) * float64(total) / 100))
		}
	}
	return value, nil
}

func intOrPercentValue(x *IntOrString) (int, bool, error) {
	switch x.Type {
	case IntOrStringInt:
		return int(x.IntVal), false, nil
	case IntOrStringString:
		s, ok := strings.CutSuffix(x.StrVal, "%")
		if !ok {
			return 0, false, errors.New("invalid type: string is not a percentage")
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return 0, false, fmt.Errorf("invalid value %q: %v", x.StrVal, err)
		}
		return v, true, nil
	}
	return 0, false, errors.New("invalid type: neither int nor percentage")
}
