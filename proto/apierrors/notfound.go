package apierrors

import "net/http"

// NewNotFoundMessage is a 404 NotFound for a path that names no resource, with upstream's
// wording for it ("the server could not find the requested resource").
func NewNotFoundMessage(message string) *StatusError {
	return newStatus(http.StatusNotFound, StatusReasonNotFound, message, nil)
}
