package unstructured

import (
	"reflect"
	"strconv"
)

// MergePatch applies an RFC 7386 JSON merge patch to target and returns the result:
// null deletes a key, objects merge recursively, everything else (lists included)
// replaces. target is not modified.
func MergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return DeepCopy(patch)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	out := DeepCopy(t).(map[string]any)
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}

// ThreeWayMergePatch computes the merge patch client-side apply sends: fields of
// modified (the manifest now) that differ from current (the live object), plus null for
// every field that original (the last-applied manifest) had and modified dropped — so a
// field removed from the manifest is removed from the object, while fields set by others
// (defaults, controllers) and never in the manifest are left alone. Lists are compared
// and replaced whole, as JSON merge patch does, except the lists upstream's strategic
// merge patch merges by key (containers by name, ports by port ...): see mergeKeyedList.
func ThreeWayMergePatch(original, modified, current map[string]any) map[string]any {
	patch := map[string]any{}
	for k, mv := range modified {
		cv, inCurrent := current[k]
		if merged, ok := mergeKeyedList(k, original[k], mv, cv); ok {
			if !equalJSON(merged, cv) {
				patch[k] = merged
			}
			continue
		}
		mm, mIsMap := mv.(map[string]any)
		cm, cIsMap := cv.(map[string]any)
		if mIsMap && cIsMap {
			om, _ := original[k].(map[string]any)
			if sub := ThreeWayMergePatch(om, mm, cm); len(sub) > 0 {
				patch[k] = sub
			}
			continue
		}
		// A list is replaced whole when the manifest's differs from the last-applied
		// one: the live list also holds server defaults in its elements (upstream's
		// strategic merge merges those by key), so comparing with it would "change"
		// every list on every apply.
		if _, isList := mv.([]any); isList {
			if ov, ok := original[k]; ok && inCurrent && equalJSON(mv, ov) {
				continue
			}
		}
		if !inCurrent || !equalJSON(mv, cv) {
			patch[k] = mv
		}
	}
	for k := range original {
		if _, ok := modified[k]; ok {
			continue
		}
		if _, ok := current[k]; ok {
			patch[k] = nil
		}
	}
	return patch
}

// mergeKeys are the lists upstream's API types mark with a patchMergeKey: their elements
// are matched by that key, so apply changes one container and keeps what the server or
// others set in the rest. "ports" holds containerPort in a container, port in a Service.
var mergeKeys = map[string][]string{
	"containers": {"name"}, "initContainers": {"name"}, "volumes": {"name"}, "env": {"name"},
	"imagePullSecrets": {"name"}, "volumeMounts": {"mountPath"}, "ports": {"containerPort", "port"},
	"hostAliases": {"ip"},
}

// mergeKeyedList does for a keyed list what ThreeWayMergePatch does for an object: the
// manifest's elements in its order, each merged (three ways) into the live element of
// the same key; live elements the last-applied manifest had and this one dropped go;
// live elements nobody applied (added by others) stay. ok is false when k is not a keyed
// list or an element lacks the key: the list is then replaced whole.
func mergeKeyedList(k string, original, modified, current any) (merged []any, ok bool) {
	keys, known := mergeKeys[k]
	mod, isList := modified.([]any)
	if !known || !isList {
		return nil, false
	}
	cur, _ := current.([]any)
	orig, _ := original.([]any)
	var key string
	for _, cand := range keys {
		if hasKey(mod, cand) && hasKey(cur, cand) && hasKey(orig, cand) {
			key = cand
			break
		}
	}
	if key == "" {
		return nil, false
	}
	index := func(l []any) map[string]map[string]any {
		m := make(map[string]map[string]any, len(l))
		for _, e := range l {
			em := e.(map[string]any)
			m[Scalar(em[key])] = em
		}
		return m
	}
	origBy, curBy, modBy := index(orig), index(cur), index(mod)
	merged = make([]any, 0, len(mod)+len(cur))
	for _, e := range mod {
		m := e.(map[string]any)
		c, live := curBy[Scalar(m[key])]
		if !live {
			merged = append(merged, DeepCopy(m))
			continue
		}
		merged = append(merged, MergePatch(c, ThreeWayMergePatch(origBy[Scalar(m[key])], m, c)))
	}
	for _, e := range cur {
		c := e.(map[string]any)
		id := Scalar(c[key])
		if _, inMod := modBy[id]; inMod {
			continue
		}
		if _, applied := origBy[id]; applied {
			continue // removed from the manifest
		}
		merged = append(merged, DeepCopy(c))
	}
	return merged, true
}

// hasKey reports whether every element of l is an object with key set, each to another
// value (ports 53/TCP and 53/UDP share a containerPort: such a list is replaced whole).
func hasKey(l []any, key string) bool {
	seen := make(map[string]bool, len(l))
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok || m[key] == nil || seen[Scalar(m[key])] {
			return false
		}
		seen[Scalar(m[key])] = true
	}
	return true
}

// equalJSON compares decoded JSON values, treating numbers by their text.
func equalJSON(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if isNumber(a) && isNumber(b) {
		x, errX := strconv.ParseFloat(Scalar(a), 64)
		y, errY := strconv.ParseFloat(Scalar(b), 64)
		return errX == nil && errY == nil && x == y || Scalar(a) == Scalar(b)
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case float64, int, int64, int32:
		return true
	}
	_, ok := v.(interface{ Int64() (int64, error) })
	return ok
}
