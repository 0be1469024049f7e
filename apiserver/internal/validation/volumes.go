package validation

import (
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// supportedHostPathTypes are the hostPath.type values, sorted as upstream lists them.
var supportedHostPathTypes = []string{"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"}

// ValidateVolumes checks the pod's volumes and returns the valid ones by name, for the
// volumeMounts to be checked against.
func ValidateVolumes(volumes []*corev1.Volume, path *field.Path) (map[string]*corev1.Volume, field.ErrorList) {
	var errs field.ErrorList
	byName := map[string]*corev1.Volume{}
	for i, v := range volumes {
		p := path.Index(i)
		namePath := p.Child("name")
		el := validateVolumeSource(v, p)
		if v.GetName() == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, ValidateDNS1123Label(v.GetName(), namePath)...)
		}
		if _, dup := byName[v.GetName()]; dup {
			el = append(el, field.Duplicate(namePath, v.GetName()))
		}
		if len(el) == 0 {
			byName[v.GetName()] = v
		} else {
			errs = append(errs, el...)
		}
	}
	return byName, errs
}

// validateVolumeSource requires exactly one source, checked in upstream's order.
func validateVolumeSource(v *corev1.Volume, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	const more = "may not specify more than 1 volume type"
	if ed := v.GetEmptyDir(); ed != nil {
		n++
		if ed.GetSizeLimit() != nil && ed.GetSizeLimit().GetString_() != "" {
			q, qerrs := ParseQuantityField(ed.GetSizeLimit(), path.Child("emptyDir").Child("sizeLimit"))
			errs = append(errs, qerrs...)
			if q != nil && q.Cmp(&metav1.Quantity{}) < 0 {
				errs = append(errs, field.Forbidden(path.Child("emptyDir").Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
			}
		}
	}
	if hp := v.GetHostPath(); hp != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(path.Child("hostPath"), more))
		} else {
			n++
			errs = append(errs, validateHostPathVolumeSource(hp, path.Child("hostPath"))...)
		}
	}
	if s := v.GetSecret(); s != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(path.Child("secret"), more))
		} else {
			n++
			if s.GetSecretName() == "" {
				errs = append(errs, field.Required(path.Child("secret").Child("secretName"), ""))
			}
			errs = append(errs, validateProjection(s.DefaultMode, s.GetItems(), path.Child("secret"))...)
		}
	}
	if cm := v.GetConfigMap(); cm != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(path.Child("configMap"), more))
		} else {
			n++
			if cm.GetName() == "" {
				errs = append(errs, field.Required(path.Child("configMap").Child("name"), ""))
			}
			errs = append(errs, validateProjection(cm.DefaultMode, cm.GetItems(), path.Child("configMap"))...)
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(path, "must specify a volume type"))
	}
	return errs
}

func validateHostPathVolumeSource(hp *corev1.HostPathVolumeSource, path *field.Path) field.ErrorList {
	if hp.GetPath() == "" {
		return field.ErrorList{field.Required(path.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(hp.GetPath(), path.Child("path"))
	if hp.Type != nil && !contains(supportedHostPathTypes, *hp.Type) {
		errs = append(errs, field.NotSupported(path.Child("type"), *hp.Type, supportedHostPathTypes))
	}
	return errs
}

// validateProjection checks defaultMode and the items of a secret or configMap volume.
func validateProjection(defaultMode *int32, items []*corev1.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if defaultMode != nil && (*defaultMode > 0777 || *defaultMode < 0) {
		errs = append(errs, field.Invalid(path.Child("defaultMode"), *defaultMode, fileModeErrorMsg))
	}
	for i, kp := range items {
		p := path.Child("items").Index(i)
		if kp.GetKey() == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
		if kp.GetPath() == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.GetPath(), p.Child("path"))...)
		if kp.Mode != nil && (*kp.Mode > 0777 || *kp.Mode < 0) {
			errs = append(errs, field.Invalid(p.Child("mode"), *kp.Mode, fileModeErrorMsg))
		}
	}
	return errs
}

// validateLocalNonReservedPath: relative, no "..", not starting with "..".
func validateLocalNonReservedPath(target string, path *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, path)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(path, target, "must not start with '..'"))
	}
	return errs
}
