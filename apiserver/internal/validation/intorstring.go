package validation

import (
	"strconv"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

// ValidateIntOrStringPercent checks a value that is a non-negative integer or a
// percentage ("25%"), as maxSurge and maxUnavailable are (upstream's
// ValidatePositiveIntOrPercent).
func ValidateIntOrStringPercent(v *metav1.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.GetType() {
	case metav1.IntOrStringString:
		for _, msg := range IsValidPercent(v.GetStrVal()) {
			errs = append(errs, field.Invalid(path, v.AsString(), msg))
		}
	case metav1.IntOrStringInt:
		errs = append(errs, ValidateNonnegativeField(int64(v.GetIntVal()), path)...)
	default:
		errs = append(errs, field.Invalid(path, v.AsString(), "must be an integer or percentage (e.g '5%%')"))
	}
	return errs
}

// percentValue returns the number of a valid percentage string.
func percentValue(v *metav1.IntOrString) (int, bool) {
	if v.GetType() != metav1.IntOrStringString || len(IsValidPercent(v.GetStrVal())) != 0 {
		return 0, false
	}
	s := v.GetStrVal()
	n, _ := strconv.Atoi(s[:len(s)-1])
	return n, true
}

// IntOrPercentValue returns the integer, or the number of a percentage, of v.
func IntOrPercentValue(v *metav1.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// IsNotMoreThan100Percent rejects a percentage above 100%.
func IsNotMoreThan100Percent(v *metav1.IntOrString, path *field.Path) field.ErrorList {
	n, ok := percentValue(v)
	if !ok || n <= 100 {
		return nil
	}
	return field.ErrorList{field.Invalid(path, v.AsString(), "must not be greater than 100%")}
}
