// Package event is the strategy of core/v1 events: no defaults, upstream's legacy event
// validation, and the selectable fields kubectl describe uses to find an object's events.
package event

import (
	"fmt"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

// Upstream's limits on the fields of events that carry eventTime.
const (
	ReportingInstanceLengthLimit = 128
	ActionLengthLimit            = 128
	ReasonLengthLimit            = 128
	NoteLengthLimit              = 1024
)

type strategy struct{ registry.Base }

// Strategy is the events' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var _ registry.Strategy = Strategy

// Validate checks a new event.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateEvent(obj.(*corev1.Event))
}

// ValidateUpdate checks an update as upstream does for v1: the new event alone.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	ev, oldEv := obj.(*corev1.Event), old.(*corev1.Event)
	errs := validation.ValidateObjectMetaUpdate(ev.GetMetadata(), oldEv.GetMetadata(), field.NewPath("metadata"))
	return append(errs, validateEvent(ev)...)
}

// validateEvent is upstream's legacyValidateEvent, which is all core/v1 events get,
// plus the object name check: the name becomes part of an etcd key here.
func validateEvent(ev *corev1.Event) field.ErrorList {
	errs := validation.ValidateObjectMeta(ev.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	ns := ev.GetMetadata().GetNamespace()
	involvedNS := ev.GetInvolvedObject().GetNamespace()
	nsPath := field.NewPath("involvedObject", "namespace")
	if ev.GetEventTime().IsZero() {
		// Old-style event: its namespace is the involved object's ("default" allowed
		// for cluster-scoped objects, for old clients).
		if involvedNS == "" {
			if ns != "" && ns != "default" {
				errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
			}
		} else if ns != involvedNS {
			errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
		}
	} else {
		if involvedNS == "" && ns != "default" && ns != "kube-system" {
			errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
		}
		rc := field.NewPath("reportingController")
		if ev.GetReportingComponent() == "" {
			errs = append(errs, field.Required(rc, ""))
		}
		for _, msg := range validation.IsQualifiedName(ev.GetReportingComponent()) {
			errs = append(errs, field.Invalid(rc, ev.GetReportingComponent(), msg))
		}
		errs = append(errs, requiredLimited(ev.GetReportingInstance(), "reportingInstance", ReportingInstanceLengthLimit)...)
		errs = append(errs, requiredLimited(ev.GetAction(), "action", ActionLengthLimit)...)
		errs = append(errs, requiredLimited(ev.GetReason(), "reason", ReasonLengthLimit)...)
		if len(ev.GetMessage()) > NoteLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", NoteLengthLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(ns) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ns, msg))
	}
	return errs
}

func requiredLimited(v, name string, limit int) field.ErrorList {
	p := field.NewPath(name)
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if len(v) > limit {
		return field.ErrorList{field.Invalid(p, "", fmt.Sprintf("can have at most %v characters", limit))}
	}
	return nil
}

// Fields are upstream's selectable event fields; source falls back to the reporting
// component for new-style events.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	ev := obj.(*corev1.Event)
	set := s.Base.Fields(obj)
	io := ev.GetInvolvedObject()
	source := ev.GetSource().GetComponent()
	if source == "" {
		source = ev.GetReportingComponent()
	}
	set["involvedObject.kind"] = io.GetKind()
	set["involvedObject.namespace"] = io.GetNamespace()
	set["involvedObject.name"] = io.GetName()
	set["involvedObject.uid"] = io.GetUid()
	set["involvedObject.apiVersion"] = io.GetApiVersion()
	set["involvedObject.resourceVersion"] = io.GetResourceVersion()
	set["involvedObject.fieldPath"] = io.GetFieldPath()
	set["reason"] = ev.GetReason()
	set["reportingComponent"] = ev.GetReportingComponent()
	set["source"] = source
	set["type"] = ev.GetType()
	return set
}
