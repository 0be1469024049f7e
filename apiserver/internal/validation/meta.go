package validation

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

// TotalAnnotationSizeLimitB is the most bytes an object's annotations (keys and values)
// may take together.
const TotalAnnotationSizeLimitB = 256 * (1 << 10)

// standardFinalizers may be used without a domain prefix: the namespace finalizer and
// the garbage collector's two.
var standardFinalizers = map[string]bool{
	"kubernetes":         true,
	"orphan":             true,
	"foregroundDeletion": true,
}

// ValidateNonnegativeField checks value >= 0.
func ValidateNonnegativeField(value int64, path *field.Path) field.ErrorList {
	if value < 0 {
		return field.ErrorList{field.Invalid(path, value, IsNegativeErrorMsg)}
	}
	return nil
}

// ValidateLabelName checks one label key.
func ValidateLabelName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

// ValidateLabels checks a label map. Upstream reports every error at the map's path (not
// the key's), and so does this.
func ValidateLabels(labels map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(labels) {
		errs = append(errs, ValidateLabelName(k, path)...)
		for _, msg := range IsValidLabelValue(labels[k]) {
			errs = append(errs, field.Invalid(path, labels[k], msg))
		}
	}
	return errs
}

// ValidateAnnotations checks annotation keys (qualified names, case-insensitive) and
// their total size.
func ValidateAnnotations(annotations map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for _, k := range sortedKeys(annotations) {
		for _, msg := range IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(path, k, msg))
		}
		total += len(k) + len(annotations[k])
	}
	if total > TotalAnnotationSizeLimitB {
		errs = append(errs, field.TooLong(path, "", TotalAnnotationSizeLimitB))
	}
	return errs
}

// ValidateOwnerReferences checks each reference names its owner fully and at most one
// is the controller. Events may not own anything (upstream's banned owners).
func ValidateOwnerReferences(refs []*metav1.OwnerReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	firstController := ""
	for _, ref := range refs {
		version := ref.GetApiVersion()
		group := ""
		if i := strings.Index(version, "/"); i >= 0 {
			group, version = version[:i], version[i+1:]
		}
		if version == "" {
			errs = append(errs, field.Invalid(path.Child("apiVersion"), ref.GetApiVersion(), "version must not be empty"))
		}
		if ref.GetKind() == "" {
			errs = append(errs, field.Invalid(path.Child("kind"), ref.GetKind(), "must not be empty"))
		}
		if ref.GetName() == "" {
			errs = append(errs, field.Invalid(path.Child("name"), ref.GetName(), "must not be empty"))
		}
		if ref.GetUid() == "" {
			errs = append(errs, field.Invalid(path.Child("uid"), ref.GetUid(), "must not be empty"))
		}
		if group == "" && version == "v1" && ref.GetKind() == "Event" {
			errs = append(errs, field.Invalid(path, BadValue(ref), fmt.Sprintf("%s, Kind=%s is disallowed from being an owner", "/v1", "Event")))
		}
		if ref.GetController() {
			cur := ref.GetKind() + "/" + ref.GetName()
			if firstController != "" {
				errs = append(errs, field.Invalid(path, BadValue(refs),
					fmt.Sprintf("Only one reference can have Controller set to true. Found \"true\" in references for %v and %v", firstController, cur)))
			} else {
				firstController = cur
			}
		}
	}
	return errs
}

// ValidateFinalizerName checks one finalizer: a qualified name, and without a domain
// only one of the standard names.
func ValidateFinalizerName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	errs = append(errs, validateKubeFinalizerName(name, path)...)
	return errs
}

func validateKubeFinalizerName(name string, path *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// ValidateFinalizers checks metadata.finalizers. As upstream, the qualified-name check
// reports at the list's path and the standard-name check at the item's.
func ValidateFinalizers(finalizers []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	orphan, foreground := false, false
	for i, f := range finalizers {
		for _, msg := range IsQualifiedName(f) {
			errs = append(errs, field.Invalid(path, f, msg))
		}
		errs = append(errs, validateKubeFinalizerName(f, path.Index(i))...)
		orphan = orphan || f == "orphan"
		foreground = foreground || f == "foregroundDeletion"
	}
	if orphan && foreground {
		errs = append(errs, field.Invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"))
	}
	return errs
}

// ValidateObjectMeta checks the metadata of a new object: name (or generateName) by
// nameFn, namespace required iff namespaced, labels, annotations, owner references and
// finalizers.
func ValidateObjectMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn NameFunc, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	if meta.GetGenerateName() != "" {
		for _, msg := range nameFn(meta.GetGenerateName(), true) {
			errs = append(errs, field.Invalid(path.Child("generateName"), meta.GetGenerateName(), msg))
		}
	}
	if meta.GetName() == "" {
		// The generic store generates a name from generateName before validation; an
		// object without either has no name at all.
		if meta.GetGenerateName() == "" {
			errs = append(errs, field.Required(path.Child("name"), "name or generateName is required"))
		}
	} else {
		for _, msg := range nameFn(meta.GetName(), false) {
			errs = append(errs, field.Invalid(path.Child("name"), meta.GetName(), msg))
		}
	}
	if namespaced {
		if meta.GetNamespace() == "" {
			errs = append(errs, field.Required(path.Child("namespace"), ""))
		} else {
			for _, msg := range ValidateNamespaceName(meta.GetNamespace(), false) {
				errs = append(errs, field.Invalid(path.Child("namespace"), meta.GetNamespace(), msg))
			}
		}
	} else if meta.GetNamespace() != "" {
		errs = append(errs, field.Forbidden(path.Child("namespace"), "not allowed on this type"))
	}
	errs = append(errs, ValidateNonnegativeField(meta.GetGeneration(), path.Child("generation"))...)
	errs = append(errs, validateMetaCommon(meta, path)...)
	return errs
}

// validateMetaCommon is what create and update both check.
func validateMetaCommon(meta *metav1.ObjectMeta, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, ValidateLabels(meta.GetLabels(), path.Child("labels"))...)
	errs = append(errs, ValidateAnnotations(meta.GetAnnotations(), path.Child("annotations"))...)
	errs = append(errs, ValidateOwnerReferences(meta.GetOwnerReferences(), path.Child("ownerReferences"))...)
	errs = append(errs, ValidateFinalizers(meta.GetFinalizers(), path.Child("finalizers"))...)
	return errs
}

// ValidateObjectMetaUpdate checks the metadata of an update: name, namespace, uid,
// creationTimestamp (and the deletion fields) are immutable, no finalizer may be added to
// an object being deleted, and the rest is checked as on create. An empty uid or creation
// timestamp in the new object means "not sent": the generic store fills both from the old
// object, as upstream's BeforeUpdate does.
func ValidateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta, path *field.Path) field.ErrorList {
	if newMeta == nil {
		newMeta = &metav1.ObjectMeta{}
	}
	if oldMeta == nil {
		oldMeta = &metav1.ObjectMeta{}
	}
	var errs field.ErrorList
	if oldMeta.GetDeletionTimestamp() != nil {
		old := map[string]bool{}
		for _, f := range oldMeta.GetFinalizers() {
			old[f] = true
		}
		var extra []string
		for _, f := range newMeta.GetFinalizers() {
			if !old[f] {
				extra = append(extra, f)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			errs = append(errs, field.Forbidden(path.Child("finalizers"),
				fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %#v", extra)))
		}
	}
	if newMeta.GetGeneration() < oldMeta.GetGeneration() {
		errs = append(errs, field.Invalid(path.Child("generation"), newMeta.GetGeneration(), "must not be decremented"))
	}
	errs = append(errs, ValidateImmutableField(newMeta.GetName(), oldMeta.GetName(), path.Child("name"))...)
	errs = append(errs, ValidateImmutableField(newMeta.GetNamespace(), oldMeta.GetNamespace(), path.Child("namespace"))...)
	if newMeta.GetUid() != "" {
		errs = append(errs, ValidateImmutableField(newMeta.GetUid(), oldMeta.GetUid(), path.Child("uid"))...)
	}
	if newMeta.GetCreationTimestamp() != nil {
		errs = append(errs, ValidateImmutableField(newMeta.GetCreationTimestamp(), oldMeta.GetCreationTimestamp(), path.Child("creationTimestamp"))...)
	}
	errs = append(errs, ValidateImmutableField(newMeta.GetDeletionTimestamp(), oldMeta.GetDeletionTimestamp(), path.Child("deletionTimestamp"))...)
	errs = append(errs, ValidateImmutableField(newMeta.DeletionGracePeriodSeconds, oldMeta.DeletionGracePeriodSeconds, path.Child("deletionGracePeriodSeconds"))...)
	errs = append(errs, validateMetaCommon(newMeta, path)...)
	return errs
}

// ValidateImmutableField reports newVal != oldVal as upstream's "field is immutable".
// Messages compare with Equal; an absent message equals an empty one, as upstream's
// semantic equality treats nil and empty alike.
func ValidateImmutableField(newVal, oldVal any, path *field.Path) field.ErrorList {
	if !Equal(newVal, oldVal) {
		return field.ErrorList{field.Invalid(path, BadValue(newVal), FieldImmutableErrorMsg)}
	}
	return nil
}

// Equal compares two API values: proto messages by content (nil equals empty), slices of
// messages element-wise, anything else with reflect.DeepEqual after treating nil and
// empty slices and maps as equal.
func Equal(a, b any) bool {
	am, aok := a.(proto.Message)
	bm, bok := b.(proto.Message)
	if aok && bok {
		return EqualMessages(am, bm)
	}
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if av.IsValid() && bv.IsValid() && av.Type() == bv.Type() {
		switch av.Kind() {
		case reflect.Slice:
			if av.Len() != bv.Len() {
				return false
			}
			for i := 0; i < av.Len(); i++ {
				if !Equal(av.Index(i).Interface(), bv.Index(i).Interface()) {
					return false
				}
			}
			return true
		case reflect.Map:
			if av.Len() != bv.Len() {
				return false
			}
			for _, k := range av.MapKeys() {
				bval := bv.MapIndex(k)
				if !bval.IsValid() || !Equal(av.MapIndex(k).Interface(), bval.Interface()) {
					return false
				}
			}
			return true
		case reflect.Pointer:
			if av.IsNil() || bv.IsNil() {
				return av.IsNil() == bv.IsNil()
			}
			return Equal(av.Elem().Interface(), bv.Elem().Interface())
		}
	}
	return reflect.DeepEqual(a, b)
}

// ValidateLabelSelector checks a label selector's labels and expressions.
func ValidateLabelSelector(sel *metav1.LabelSelector, path *field.Path) field.ErrorList {
	if sel == nil {
		return nil
	}
	errs := ValidateLabels(sel.GetMatchLabels(), path.Child("matchLabels"))
	for i, expr := range sel.GetMatchExpressions() {
		errs = append(errs, ValidateLabelSelectorRequirement(expr, path.Child("matchExpressions").Index(i))...)
	}
	return errs
}

// ValidateLabelSelectorRequirement checks one matchExpression: the operator, the values
// the operator needs, the key, and (as upstream's strict selector validation) the values.
func ValidateLabelSelectorRequirement(sr *metav1.LabelSelectorRequirement, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch sr.GetOperator() {
	case "In", "NotIn":
		if len(sr.GetValues()) == 0 {
			errs = append(errs, field.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case "Exists", "DoesNotExist":
		if len(sr.GetValues()) > 0 {
			errs = append(errs, field.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	default:
		errs = append(errs, field.Invalid(path.Child("operator"), sr.GetOperator(), "not a valid selector operator"))
	}
	errs = append(errs, ValidateLabelName(sr.GetKey(), path.Child("key"))...)
	for i, v := range sr.GetValues() {
		for _, msg := range IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(path.Child("values").Index(i), v, msg))
		}
	}
	return errs
}

// ValidateHasLabel requires meta.labels[key] == expected (generated job labels).
func ValidateHasLabel(meta *metav1.ObjectMeta, path *field.Path, key, expected string) field.ErrorList {
	actual, found := meta.GetLabels()[key]
	if !found {
		return field.ErrorList{field.Required(path.Child("labels").Key(key), fmt.Sprintf("must be '%s'", expected))}
	}
	if actual != expected {
		return field.ErrorList{field.Invalid(path.Child("labels").Key(key), meta.GetLabels(), fmt.Sprintf("must be '%s'", expected))}
	}
	return nil
}

// sortedKeys makes map iteration, and so error order, deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidateReplicaCounts checks the status of a replica set or replication controller:
// no counter negative, none above replicas, available at most ready.
func ValidateReplicaCounts(replicas, fullyLabeled, ready, available int32, observedGeneration int64, path *field.Path) field.ErrorList {
	errs := ValidateNonnegativeField(int64(replicas), path.Child("replicas"))
	errs = append(errs, ValidateNonnegativeField(int64(fullyLabeled), path.Child("fullyLabeledReplicas"))...)
	errs = append(errs, ValidateNonnegativeField(int64(ready), path.Child("readyReplicas"))...)
	errs = append(errs, ValidateNonnegativeField(int64(available), path.Child("availableReplicas"))...)
	errs = append(errs, ValidateNonnegativeField(observedGeneration, path.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	if fullyLabeled > replicas {
		errs = append(errs, field.Invalid(path.Child("fullyLabeledReplicas"), fullyLabeled, msg))
	}
	if ready > replicas {
		errs = append(errs, field.Invalid(path.Child("readyReplicas"), ready, msg))
	}
	if available > replicas {
		errs = append(errs, field.Invalid(path.Child("availableReplicas"), available, msg))
	}
	if available > ready {
		errs = append(errs, field.Invalid(path.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return errs
}
