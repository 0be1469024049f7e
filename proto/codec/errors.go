package codec

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a decoded document. Path is upstream's
// field path ("spec.containers[0].image", map keys as "[key]"); "" is the document itself.
// The apiserver turns these into Status causes (field = Path).
type FieldError struct {
	Path string
	// Unknown is set for a field the schema does not have (upstream's strict decoding
	// error); Msg is then empty.
	Unknown bool
	// Msg says what is wrong with the value: `expected an integer, got string "3"`.
	Msg string
}

func (e *FieldError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("unknown field %q", e.Path)
	}
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// FieldErrors is every problem found in a document, in document order. Decoding does not
// stop at a field error: it skips the value and goes on, so one answer names them all.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// maxFieldErrors bounds what one document can make us collect, as upstream's strict
// decoder does (100).
const maxFieldErrors = 100

// OnlyUnknown reports whether err is a FieldErrors holding nothing but unknown fields. The
// decoded message is then complete except for those fields, so a caller that ignores or
// warns about unknown fields (fieldValidation=Ignore/Warn, kubectl --validate=false) can
// use it.
func OnlyUnknown(err error) bool {
	var fes FieldErrors
	if !errors.As(err, &fes) || len(fes) == 0 {
		return false
	}
	for _, e := range fes {
		if !e.Unknown {
			return false
		}
	}
	return true
}

// SyntaxError is a document that is not JSON (or YAML) at all. Offset is the byte offset
// in the JSON text (after YAML conversion), -1 when YAML conversion failed.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Offset < 0 {
		return e.Msg
	}
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}
