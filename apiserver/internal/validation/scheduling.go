package validation

import (
	"strconv"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
)

// taintEffects are the effects of taints and tolerations, in upstream's order.
var taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

func validateTaintEffect(effect string, allowEmpty bool, path *field.Path) field.ErrorList {
	if !allowEmpty && effect == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	if !contains(taintEffects, effect) {
		return field.ErrorList{field.NotSupported(path, effect, taintEffects)}
	}
	return nil
}

// ValidateTolerations checks tolerations: keys are label names; an empty key needs
// operator Exists; Exists takes no value; tolerationSeconds only with NoExecute.
func ValidateTolerations(tolerations []*corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := path.Index(i)
		if t.GetKey() != "" {
			errs = append(errs, ValidateLabelName(t.GetKey(), p.Child("key"))...)
		}
		if t.GetKey() == "" && t.GetOperator() != "Exists" {
			errs = append(errs, field.Invalid(p.Child("operator"), t.GetOperator(),
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.GetEffect() != "NoExecute" {
			errs = append(errs, field.Invalid(p.Child("effect"), t.GetEffect(), "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.GetOperator() {
		case "Equal", "":
			if msgs := IsValidLabelValue(t.GetValue()); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.GetValue(), strings.Join(msgs, ";")))
			}
		case "Exists":
			if t.GetValue() != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.GetValue(), "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.GetOperator(), []string{"Equal", "Exists"}))
		}
		if t.GetEffect() != "" {
			errs = append(errs, validateTaintEffect(t.GetEffect(), true, p.Child("effect"))...)
		}
	}
	return errs
}

// ValidateOnlyAddedTolerations allows a pod update to add tolerations and to change
// tolerationSeconds of existing ones, nothing else.
func ValidateOnlyAddedTolerations(newTols, oldTols []*corev1.Toleration, path *field.Path) field.ErrorList {
	for _, old := range oldTols {
		found := false
		for _, n := range newTols {
			if old.GetKey() == n.GetKey() && old.GetOperator() == n.GetOperator() &&
				old.GetValue() == n.GetValue() && old.GetEffect() == n.GetEffect() {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(path, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return ValidateTolerations(newTols, path)
}

// ValidateTaints checks a node's taints: key, value, effect, unique by key and effect.
func ValidateTaints(taints []*corev1.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]map[string]bool{}
	for i, t := range taints {
		p := path.Index(i)
		errs = append(errs, ValidateLabelName(t.GetKey(), p.Child("key"))...)
		if msgs := IsValidLabelValue(t.GetValue()); len(msgs) != 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.GetValue(), strings.Join(msgs, ";")))
		}
		errs = append(errs, validateTaintEffect(t.GetEffect(), false, p.Child("effect"))...)
		if seen[t.GetEffect()][t.GetKey()] {
			dup := field.Duplicate(p, BadValue(t))
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[t.GetEffect()] == nil {
			seen[t.GetEffect()] = map[string]bool{}
		}
		seen[t.GetEffect()][t.GetKey()] = true
	}
	return errs
}

// validateNodeSelectorRequirement checks one matchExpression of node affinity.
func validateNodeSelectorRequirement(rq *corev1.NodeSelectorRequirement, allowInvalidValues bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch rq.GetOperator() {
	case "In", "NotIn":
		if len(rq.GetValues()) == 0 {
			errs = append(errs, field.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case "Exists", "DoesNotExist":
		if len(rq.GetValues()) > 0 {
			errs = append(errs, field.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case "Gt", "Lt":
		if len(rq.GetValues()) != 1 {
			errs = append(errs, field.Required(path.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		} else if _, err := strconv.ParseInt(rq.GetValues()[0], 10, 64); err != nil {
			// Upstream only finds this out when scheduling (the term then matches no
			// node); kube5 tells the user at once.
			errs = append(errs, field.Invalid(path.Child("values").Index(0), rq.GetValues()[0], "must be an integer when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(path.Child("operator"), rq.GetOperator(), "not a valid selector operator"))
	}
	errs = append(errs, ValidateLabelName(rq.GetKey(), path.Child("key"))...)
	if !allowInvalidValues {
		for i, v := range rq.GetValues() {
			for _, msg := range IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(path.Child("values").Index(i), v, msg))
			}
		}
	}
	return errs
}

// validateNodeFieldSelectorRequirement checks a matchFields entry: only metadata.name.
func validateNodeFieldSelectorRequirement(rq *corev1.NodeSelectorRequirement, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch rq.GetOperator() {
	case "In", "NotIn":
		if len(rq.GetValues()) != 1 {
			errs = append(errs, field.Required(path.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, field.Invalid(path.Child("operator"), rq.GetOperator(), "not a valid selector operator"))
	}
	if rq.GetKey() != "metadata.name" {
		errs = append(errs, field.Invalid(path.Child("key"), rq.GetKey(), "not a valid field selector key"))
	} else {
		for i, v := range rq.GetValues() {
			for _, msg := range NameIsDNSSubdomain(v, false) {
				errs = append(errs, field.Invalid(path.Child("values").Index(i), v, msg))
			}
		}
	}
	return errs
}

func validateNodeSelectorTerm(term *corev1.NodeSelectorTerm, allowInvalidValues bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, rq := range term.GetMatchExpressions() {
		errs = append(errs, validateNodeSelectorRequirement(rq, allowInvalidValues, path.Child("matchExpressions").Index(j))...)
	}
	for j, rq := range term.GetMatchFields() {
		errs = append(errs, validateNodeFieldSelectorRequirement(rq, path.Child("matchFields").Index(j))...)
	}
	return errs
}

func validateNodeAffinity(na *corev1.NodeAffinity, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if req := na.GetRequiredDuringSchedulingIgnoredDuringExecution(); req != nil {
		p := path.Child("requiredDuringSchedulingIgnoredDuringExecution").Child("nodeSelectorTerms")
		if len(req.GetNodeSelectorTerms()) == 0 {
			errs = append(errs, field.Required(p, "must have at least one node selector term"))
		}
		for i, term := range req.GetNodeSelectorTerms() {
			errs = append(errs, validateNodeSelectorTerm(term, false, p.Index(i))...)
		}
	}
	for i, term := range na.GetPreferredDuringSchedulingIgnoredDuringExecution() {
		p := path.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		if term.GetWeight() <= 0 || term.GetWeight() > 100 {
			errs = append(errs, field.Invalid(p.Child("weight"), term.GetWeight(), "must be in the range 1-100"))
		}
		// Preferred terms may name label values that do not exist yet.
		errs = append(errs, validateNodeSelectorTerm(term.GetPreference(), true, p.Child("preference"))...)
	}
	return errs
}

func validatePodAffinityTerm(term *corev1.PodAffinityTerm, path *field.Path) field.ErrorList {
	errs := ValidateLabelSelector(term.GetLabelSelector(), path.Child("labelSelector"))
	errs = append(errs, ValidateLabelSelector(term.GetNamespaceSelector(), path.Child("namespaceSelector"))...)
	for _, name := range term.GetNamespaces() {
		for _, msg := range ValidateNamespaceName(name, false) {
			errs = append(errs, field.Invalid(path.Child("namespace"), name, msg))
		}
	}
	if term.GetTopologyKey() == "" {
		errs = append(errs, field.Required(path.Child("topologyKey"), "can not be empty"))
	}
	return append(errs, ValidateLabelName(term.GetTopologyKey(), path.Child("topologyKey"))...)
}

func validatePodAffinityTerms(required []*corev1.PodAffinityTerm, preferred []*corev1.WeightedPodAffinityTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, term := range required {
		errs = append(errs, validatePodAffinityTerm(term, path.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i, wt := range preferred {
		p := path.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		if wt.GetWeight() <= 0 || wt.GetWeight() > 100 {
			errs = append(errs, field.Invalid(p.Child("weight"), wt.GetWeight(), "must be in the range 1-100"))
		}
		errs = append(errs, validatePodAffinityTerm(wt.GetPodAffinityTerm(), p.Child("podAffinityTerm"))...)
	}
	return errs
}

// ValidateAffinity checks node affinity, pod affinity and pod anti-affinity.
func ValidateAffinity(a *corev1.Affinity, path *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if a.GetNodeAffinity() != nil {
		errs = append(errs, validateNodeAffinity(a.GetNodeAffinity(), path.Child("nodeAffinity"))...)
	}
	if pa := a.GetPodAffinity(); pa != nil {
		errs = append(errs, validatePodAffinityTerms(pa.GetRequiredDuringSchedulingIgnoredDuringExecution(),
			pa.GetPreferredDuringSchedulingIgnoredDuringExecution(), path.Child("podAffinity"))...)
	}
	if paa := a.GetPodAntiAffinity(); paa != nil {
		errs = append(errs, validatePodAffinityTerms(paa.GetRequiredDuringSchedulingIgnoredDuringExecution(),
			paa.GetPreferredDuringSchedulingIgnoredDuringExecution(), path.Child("podAntiAffinity"))...)
	}
	return errs
}
