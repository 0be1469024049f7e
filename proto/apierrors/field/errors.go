package field

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Error is an implementation of the 'error' interface, which represents a field-level
// validation error.
type Error struct {
	Type     ErrorType
	Field    string
	BadValue any
	Detail   string
}

var _ error = &Error{}

// Error implements the error interface: "<field>: <body>", e.g.
// `spec.containers[0].image: Required value`.
func (v *Error) Error() string {
	return fmt.Sprintf("%s: %s", v.Field, v.ErrorBody())
}

// omitValue is the BadValue of errors whose value is not worth printing (TooLong).
const omitValue = "<value omitted>"

// ErrorBody returns the error message without the field name. This is useful for
// building nice-looking higher-level error reporting, and it is the message of the
// StatusCause an Invalid API error carries.
func (v *Error) ErrorBody() string {
	var s string
	switch {
	case v.Type == ErrorTypeRequired,
		v.Type == ErrorTypeForbidden,
		v.Type == ErrorTypeTooLong,
		v.Type == ErrorTypeInternal:
		s = v.Type.String()
	default:
		if str, ok := v.BadValue.(string); ok && str == omitValue {
			s = v.Type.String()
			break
		}
		value := v.BadValue
		valueType := reflect.TypeOf(value)
		if value == nil || valueType == nil {
			value = "null"
		} else if valueType.Kind() == reflect.Pointer {
			if reflectValue := reflect.ValueOf(value); reflectValue.IsNil() {
				value = "null"
			} else {
				value = reflectValue.Elem().Interface()
			}
		}
		switch t := value.(type) {
		case int64, int32, int, float64, float32, bool:
			// Simple printer for simple types.
			s = fmt.Sprintf("%s: %v", v.Type, value)
		case string:
			s = fmt.Sprintf("%s: %q", v.Type, t)
		case fmt.Stringer:
			// Anything that defines String() is better than a raw struct.
			s = fmt.Sprintf("%s: %s", v.Type, t.String())
		default:
			// Fall back to the raw struct.
			s = fmt.Sprintf("%s: %#v", v.Type, value)
		}
	}
	if len(v.Detail) != 0 {
		s += fmt.Sprintf(": %s", v.Detail)
	}
	return s
}

// ErrorType is a machine readable value providing more detail about why a field is
// invalid. Its value is the StatusCause reason upstream sends ("FieldValueRequired");
// String gives the human text ("Required value").
type ErrorType string

// The error types of upstream, with upstream's values.
const (
	// ErrorTypeNotFound is used to report failure to find a requested value (e.g. looking
	// up an ID).
	ErrorTypeNotFound ErrorType = "FieldValueNotFound"
	// ErrorTypeRequired is used to report required values that are not provided (e.g.
	// empty strings, null values, or empty arrays).
	ErrorTypeRequired ErrorType = "FieldValueRequired"
	// ErrorTypeDuplicate is used to report collisions of values that must be unique (e.g.
	// unique IDs).
	ErrorTypeDuplicate ErrorType = "FieldValueDuplicate"
	// ErrorTypeInvalid is used to report malformed values (e.g. failed regex match, too
	// long, out of bounds).
	ErrorTypeInvalid ErrorType = "FieldValueInvalid"
	// ErrorTypeNotSupported is used to report unknown values for enumerated fields (e.g.
	// a list of valid values).
	ErrorTypeNotSupported ErrorType = "FieldValueNotSupported"
	// ErrorTypeForbidden is used to report valid (as per formatting rules) values which
	// would be accepted under some conditions, but which are not permitted by the current
	// conditions (such as security policy).
	ErrorTypeForbidden ErrorType = "FieldValueForbidden"
	// ErrorTypeTooLong is used to report that the given value is too long.
	ErrorTypeTooLong ErrorType = "FieldValueTooLong"
	// ErrorTypeTooMany is used to report "too many". This is used to report that a given
	// list has too many items.
	ErrorTypeTooMany ErrorType = "FieldValueTooMany"
	// ErrorTypeInternal is used to report other errors that are not related to user input.
	ErrorTypeInternal ErrorType = "InternalError"
	// ErrorTypeTypeInvalid is for the value did not match the schema type for that field.
	ErrorTypeTypeInvalid ErrorType = "FieldValueTypeInvalid"
)

// String converts an ErrorType into its corresponding canonical error message.
func (t ErrorType) String() string {
	switch t {
	case ErrorTypeNotFound:
		return "Not found"
	case ErrorTypeRequired:
		return "Required value"
	case ErrorTypeDuplicate:
		return "Duplicate value"
	case ErrorTypeInvalid:
		return "Invalid value"
	case ErrorTypeNotSupported:
		return "Unsupported value"
	case ErrorTypeForbidden:
		return "Forbidden"
	case ErrorTypeTooLong:
		return "Too long"
	case ErrorTypeTooMany:
		return "Too many"
	case ErrorTypeInternal:
		return "Internal error"
	case ErrorTypeTypeInvalid:
		return "Invalid value"
	default:
		return fmt.Sprintf("<unknown error %q>", string(t))
	}
}

// TypeInvalid returns a *Error indicating "type is invalid".
func TypeInvalid(field *Path, value any, detail string) *Error {
	return &Error{ErrorTypeTypeInvalid, field.String(), value, detail}
}

// NotFound returns a *Error indicating "value not found". This is used to report failure
// to find a requested value (e.g. looking up an ID).
func NotFound(field *Path, value any) *Error {
	return &Error{ErrorTypeNotFound, field.String(), value, ""}
}

// Required returns a *Error indicating "value required". This is used to report required
// values that are not provided (e.g. empty strings, null values, or empty arrays).
func Required(field *Path, detail string) *Error {
	return &Error{ErrorTypeRequired, field.String(), "", detail}
}

// Duplicate returns a *Error indicating "duplicate value". This is used to report
// collisions of values that must be unique (e.g. names or IDs).
func Duplicate(field *Path, value any) *Error {
	return &Error{ErrorTypeDuplicate, field.String(), value, ""}
}

// Invalid returns a *Error indicating "invalid value". This is used to report malformed
// values (e.g. failed regex match, too long, out of bounds).
func Invalid(field *Path, value any, detail string) *Error {
	return &Error{ErrorTypeInvalid, field.String(), value, detail}
}

// NotSupported returns a *Error indicating "unsupported value". This is used to report
// unknown values for enumerated fields (e.g. a list of valid values).
func NotSupported[T ~string](field *Path, value any, validValues []T) *Error {
	detail := ""
	if len(validValues) > 0 {
		quotedValues := make([]string, len(validValues))
		for i, v := range validValues {
			quotedValues[i] = strconv.Quote(string(v))
		}
		detail = "supported values: " + strings.Join(quotedValues, ", ")
	}
	return &Error{ErrorTypeNotSupported, field.String(), value, detail}
}

// Forbidden returns a *Error indicating "forbidden". This is used to report valid (as per
// formatting rules) values which would be accepted under some conditions, but which are
// not permitted by current conditions (e.g. security policy).
func Forbidden(field *Path, detail string) *Error {
	return &Error{ErrorTypeForbidden, field.String(), "", detail}
}

// TooLong returns a *Error indicating "too long". This is used to report that the given
// value is too long. This is similar to Invalid, but the returned error will not include
// the too-long value. If maxLength is negative, no max length is shown.
func TooLong(field *Path, value any, maxLength int) *Error {
	var msg string
	if maxLength >= 0 {
		unit := "bytes"
		if maxLength == 1 {
			unit = "byte"
		}
		msg = fmt.Sprintf("may not be more than %d %s", maxLength, unit)
	} else {
		msg = "value is too long"
	}
	return &Error{ErrorTypeTooLong, field.String(), omitValue, msg}
}

// TooMany returns a *Error indicating "too many". This is used to report that a given list
// has too many items. This is similar to TooLong, but the returned error indicates
// quantity instead of length.
func TooMany(field *Path, actualQuantity, maxQuantity int) *Error {
	var msg string
	if maxQuantity >= 0 {
		unit := "items"
		if maxQuantity == 1 {
			unit = "item"
		}
		msg = fmt.Sprintf("must have at most %d %s", maxQuantity, unit)
	} else {
		msg = "has too many items"
	}
	var actual any
	if actualQuantity >= 0 {
		actual = actualQuantity
	} else {
		actual = omitValue
	}
	return &Error{ErrorTypeTooMany, field.String(), actual, msg}
}

// InternalError returns a *Error indicating "internal error". This is used to signal that
// an error was found that was not directly related to user input. The err argument must
// be non-nil.
func InternalError(field *Path, err error) *Error {
	return &Error{ErrorTypeInternal, field.String(), nil, err.Error()}
}

// ErrorList holds a set of Errors. It is plausible that we might one day have non-field
// errors in this same umbrella package, but for now we don't, so we can keep it simple
// and leave ErrorList here.
type ErrorList []*Error

// ToAggregate converts the ErrorList into an error whose message is upstream's
// aggregate message: the single error's message, or "[a, b]" for several distinct ones.
// It returns nil for an empty list, so `if err := errs.ToAggregate(); err != nil` works.
func (list ErrorList) ToAggregate() error {
	if len(list) == 0 {
		return nil
	}
	errs := make([]error, 0, len(list))
	seen := map[string]bool{}
	for _, e := range list {
		msg := e.Error()
		if seen[msg] {
			continue
		}
		seen[msg] = true
		errs = append(errs, e)
	}
	return Aggregate(errs)
}

// Filter removes items from the ErrorList that match the provided fns.
func (list ErrorList) Filter(fns ...func(*Error) bool) ErrorList {
	var out ErrorList
next:
	for _, e := range list {
		for _, fn := range fns {
			if fn(e) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// Aggregate is the error ToAggregate returns: a list of distinct errors printed as
// upstream's utilerrors.Aggregate prints them.
type Aggregate []error

// Error prints one error as itself and several as "[a, b, c]".
func (agg Aggregate) Error() string {
	switch len(agg) {
	case 0:
		return ""
	case 1:
		return agg[0].Error()
	}
	msgs := make([]string, len(agg))
	for i, e := range agg {
		msgs[i] = e.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// Errors returns the aggregated errors.
func (agg Aggregate) Errors() []error { return []error(agg) }

// Unwrap lets errors.Is and errors.As look inside the aggregate.
func (agg Aggregate) Unwrap() []error { return []error(agg) }
