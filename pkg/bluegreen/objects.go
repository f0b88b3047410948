package bluegreen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/gitopsd/gitopsd/pkg/render"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// SpecError is a blueGreen block that does not fit the render: an object
// it names is missing or of the wrong kind. Only a new commit or
// configuration can fix it.
type SpecError struct {
	Installation string
	Field        string // e.g. blueGreen.deployment
	Err          error
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("installation %s: %s: %v", e.Installation, e.Field, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }

// rendered is what a render says about a blue/green installation.
type rendered struct {
	namespace string // the Deployment's, resolved
	template  json.RawMessage
	digest    string
	// replicas is the rendered spec.replicas; nil when the render leaves it
	// out.
	replicas *int32
	// job is the pre-cutover Job as rendered; nil without one.
	job *unstructured.Unstructured
	// autoscaled is true when a HorizontalPodAutoscaler of the render
	// scales the Deployment: gitopsd then never sets the replicas of the
	// live colour.
	autoscaled bool
}

// inspect finds the objects spec names in objs, whose namespaced objects
// without a namespace go to defaultNS.
func inspect(installation string, objs *render.ObjectSet, spec Spec, defaultNS string) (*rendered, error) {
	fail := func(field, format string, args ...any) error {
		return &SpecError{Installation: installation, Field: "blueGreen." + field, Err: fmt.Errorf(format, args...)}
	}
	r := &rendered{}
	var deployment *unstructured.Unstructured
	services := map[string]bool{}
	for _, o := range objs.Objects {
		gk := o.GroupVersionKind().GroupKind()
		switch {
		case gk.Group == "apps" && gk.Kind == "Deployment" && o.GetName() == spec.Deployment:
			deployment = o.Unstructured
		case gk.Group == "apps" && gk.Kind == "Deployment" && (o.GetName() == ColouredName(spec.Deployment, Blue) || o.GetName() == ColouredName(spec.Deployment, Green)):
			return nil, fail("deployment", "the render has a Deployment named %s, which gitopsd makes from Deployment %s; rename it", o.GetName(), spec.Deployment)
		case gk.Group == "batch" && gk.Kind == "Job" && spec.PreCutover != "" && o.GetName() == spec.PreCutover:
			r.job = o.Unstructured
		case gk.Group == "" && gk.Kind == "Service":
			services[o.GetName()] = true
		case targetsDeployment(o.Unstructured, spec.Deployment):
			r.autoscaled = true
		}
	}
	if deployment == nil {
		return nil, fail("deployment", "the render has no Deployment named %s", spec.Deployment)
	}
	for i, name := range spec.Services {
		if !services[name] {
			return nil, fail(fmt.Sprintf("services[%d]", i), "the render has no Service named %s", name)
		}
	}
	if spec.PreviewService != "" && !services[spec.PreviewService] {
		return nil, fail("previewService", "the render has no Service named %s", spec.PreviewService)
	}
	if spec.PreCutover != "" && r.job == nil {
		return nil, fail("preCutover", "the render has no Job named %s", spec.PreCutover)
	}
	r.namespace = namespaceOf(deployment, defaultNS)
	if n, ok := replicasOf(deployment); ok {
		r.replicas = &n
	}
	var err error
	if r.template, r.digest, err = templateOf(deployment); err != nil {
		return nil, fail("deployment", "%w", err)
	}
	return r, nil
}

// replicasOf reads spec.replicas, a float64 when a plain YAML directory
// was rendered, an int64 from kustomize.
func replicasOf(d *unstructured.Unstructured) (int32, bool) {
	v, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas")
	switch n := v.(type) {
	case int64:
		return int32(n), true
	case float64:
		return int32(n), true
	}
	return 0, false
}

// templateOf is the Deployment as a colour keeps it: without replicas,
// which change in place, and without status.
func templateOf(d *unstructured.Unstructured) (json.RawMessage, string, error) {
	u := d.DeepCopy()
	unstructured.RemoveNestedField(u.Object, "spec", "replicas")
	unstructured.RemoveNestedField(u.Object, "status")
	data, err := json.Marshal(u.Object) // map keys sorted: equal templates are equal bytes
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:])[:16], nil
}

func namespaceOf(u *unstructured.Unstructured, defaultNS string) string {
	switch {
	case u.GetNamespace() != "":
		return u.GetNamespace()
	case defaultNS != "":
		return defaultNS
	}
	return "default"
}

// targetsDeployment reports whether u is a HorizontalPodAutoscaler that
// scales the Deployment name.
func targetsDeployment(u *unstructured.Unstructured, name string) bool {
	gvk := u.GroupVersionKind()
	if gvk.Group != "autoscaling" || gvk.Kind != "HorizontalPodAutoscaler" {
		return false
	}
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "scaleTargetRef", "kind")
	target, _, _ := unstructured.NestedString(u.Object, "spec", "scaleTargetRef", "name")
	return kind == "Deployment" && target == name
}

// desired is what to apply for st: the render with its Deployment replaced
// by the colours st has versions of, and its pre-cutover Job left out (it
// runs apart, once per cutover); the listed Services select the live
// colour, the preview Service the other one, and an autoscaler of the
// Deployment scales the live colour. keep lists the objects that are not
// rendered any more but must not be pruned yet: the ConfigMaps and Secrets
// that a colour not scaled to zero refers to, and a plain Deployment that
// still serves.
func desired(installation string, objs *render.ObjectSet, spec Spec, st *State, r *rendered) (*render.ObjectSet, map[render.Key]string, error) {
	idle := st.Live.Other()
	if a := st.Attempt; a.Active() {
		idle = a.To
	}
	out := make([]render.Object, 0, len(objs.Objects)+1)
	for _, o := range objs.Objects {
		gk := o.GroupVersionKind().GroupKind()
		u := o.Unstructured
		switch {
		case gk.Group == "apps" && gk.Kind == "Deployment" && u.GetName() == spec.Deployment:
			continue
		case r.job != nil && u == r.job:
			continue
		case gk.Group == "" && gk.Kind == "Service" && u.GetName() == spec.PreviewService:
			u = selectColour(u, idle, nil)
		case gk.Group == "" && gk.Kind == "Service" && slices.Contains(spec.Services, u.GetName()) && st.Live != "":
			u = selectColour(u, st.Live, switchAnnotations(st))
		case st.Live != "" && targetsDeployment(u, spec.Deployment):
			u = u.DeepCopy()
			_ = unstructured.SetNestedField(u.Object, ColouredName(spec.Deployment, st.Live), "spec", "scaleTargetRef", "name")
		}
		out = append(out, render.Object{Unstructured: u, Source: o.Source})
	}
	keep := map[render.Key]string{}
	for _, c := range Colours {
		v := st.version(c)
		if v == nil {
			continue
		}
		var replicas *int32
		if !r.autoscaled {
			replicas = &v.Replicas
		}
		d, err := colouredDeployment(spec.Deployment, c, v, replicas)
		if err != nil {
			return nil, nil, &SpecError{Installation: installation, Field: "blueGreen.deployment", Err: err}
		}
		out = append(out, render.Object{Unstructured: d})
		if v.Replicas > 0 || c == st.Live {
			for _, ref := range references(v.Template, r.namespace) {
				keep[ref] = fmt.Sprintf("referenced by Deployment %s, which is not scaled to zero yet", d.GetName())
			}
		}
	}
	if st.Live == "" {
		plain := render.Key{Group: "apps", Kind: "Deployment", Namespace: r.namespace, Name: spec.Deployment}
		keep[plain] = "serves until the blue colour that replaces it is available"
	}
	set, err := render.NewObjectSet(out)
	if err != nil {
		return nil, nil, err
	}
	return set, keep, nil
}

// selectColour returns a copy of the Service u selecting colour c, with
// annotations added.
func selectColour(u *unstructured.Unstructured, c Colour, annotations map[string]string) *unstructured.Unstructured {
	u = u.DeepCopy()
	_ = unstructured.SetNestedField(u.Object, string(c), "spec", "selector", LabelColour)
	if len(annotations) > 0 {
		all := u.GetAnnotations()
		if all == nil {
			all = map[string]string{}
		}
		for k, v := range annotations {
			all[k] = v
		}
		u.SetAnnotations(all)
	}
	return u
}

// switchAnnotations record on the switched Services where their traffic
// came from.
func switchAnnotations(st *State) map[string]string {
	out := map[string]string{}
	if v := st.version(st.Live); v != nil {
		out[AnnotationCommit] = v.Commit
		if v.PullRequest != nil {
			out[AnnotationPullRequest] = strconv.Itoa(v.PullRequest.Number)
		}
	}
	if st.Previous != "" {
		out[AnnotationPreviousColour] = string(st.Previous)
	}
	return out
}

// colouredDeployment is v's template as the Deployment of colour c: named
// after it, with the colour in its labels, selector and pod template, and
// replicas when given.
func colouredDeployment(name string, c Colour, v *Version, replicas *int32) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(v.Template); err != nil {
		return nil, fmt.Errorf("template of %s: %w", ColouredName(name, c), err)
	}
	u.SetName(ColouredName(name, c))
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelColour] = string(c)
	u.SetLabels(labels)
	if err := unstructured.SetNestedField(u.Object, string(c), "spec", "selector", "matchLabels", LabelColour); err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedField(u.Object, string(c), "spec", "template", "metadata", "labels", LabelColour); err != nil {
		return nil, err
	}
	if replicas != nil {
		if err := unstructured.SetNestedField(u.Object, int64(*replicas), "spec", "replicas"); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// references lists the ConfigMaps and Secrets that template's pods use.
func references(template json.RawMessage, namespace string) []render.Key {
	u := &unstructured.Unstructured{}
	var d appsv1.Deployment
	if u.UnmarshalJSON(template) != nil || runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d) != nil {
		return nil
	}
	seen := map[render.Key]bool{}
	var out []render.Key
	add := func(kind, name string) {
		k := render.Key{Kind: kind, Namespace: namespace, Name: name}
		if name != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	pod := d.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil {
			add("ConfigMap", v.ConfigMap.Name)
		}
		if v.Secret != nil {
			add("Secret", v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					add("ConfigMap", s.ConfigMap.Name)
				}
				if s.Secret != nil {
					add("Secret", s.Secret.Name)
				}
			}
		}
	}
	for _, s := range pod.ImagePullSecrets {
		add("Secret", s.Name)
	}
	containers := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add("ConfigMap", e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				add("Secret", e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				add("ConfigMap", r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				add("Secret", r.Name)
			}
		}
	}
	return out
}
