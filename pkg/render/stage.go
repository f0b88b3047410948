package render

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Stage is a group of objects applied together; a stage starts once the one
// before it is in place.
type Stage int

const (
	// StageDefinitions holds CustomResourceDefinitions and Namespaces, which
	// the objects of later stages need to exist.
	StageDefinitions Stage = iota
	// StageClusterPolicy holds cluster-scoped RBAC and policy.
	StageClusterPolicy
	// StageResources holds everything else.
	StageResources
)

// Stages lists the stages in apply order.
var Stages = []Stage{StageDefinitions, StageClusterPolicy, StageResources}

func (s Stage) String() string {
	switch s {
	case StageDefinitions:
		return "definitions"
	case StageClusterPolicy:
		return "cluster-policy"
	default:
		return "resources"
	}
}

type groupKind struct{ group, kind string }

var (
	definitionKinds = map[groupKind]bool{
		{"apiextensions.k8s.io", "CustomResourceDefinition"}: true,
		{"", "Namespace"}: true,
	}
	clusterPolicyKinds = map[groupKind]bool{
		{"rbac.authorization.k8s.io", "ClusterRole"}:                         true,
		{"rbac.authorization.k8s.io", "ClusterRoleBinding"}:                  true,
		{"scheduling.k8s.io", "PriorityClass"}:                               true,
		{"storage.k8s.io", "StorageClass"}:                                   true,
		{"networking.k8s.io", "IngressClass"}:                                true,
		{"node.k8s.io", "RuntimeClass"}:                                      true,
		{"admissionregistration.k8s.io", "ValidatingAdmissionPolicy"}:        true,
		{"admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"}: true,
		{"admissionregistration.k8s.io", "MutatingAdmissionPolicy"}:          true,
		{"admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"}:   true,
		{"flowcontrol.apiserver.k8s.io", "FlowSchema"}:                       true,
		{"flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"}:       true,
	}
)

// StageOf returns the stage u is applied in.
func StageOf(u *unstructured.Unstructured) Stage {
	return StageOfKind(u.GroupVersionKind().Group, u.GetKind())
}

// StageOfKind returns the stage objects of group and kind are applied in.
func StageOfKind(group, kind string) Stage {
	gk := groupKind{group, kind}
	switch {
	case definitionKinds[gk]:
		return StageDefinitions
	case clusterPolicyKinds[gk]:
		return StageClusterPolicy
	default:
		return StageResources
	}
}

// kindOrder orders kinds within a stage so that what others refer to comes
// first; it only makes output deterministic and readable.
var kindOrder = map[string]int{}

func init() {
	for i, kind := range []string{
		"CustomResourceDefinition", "Namespace",
		"ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass", "IngressClass", "RuntimeClass",
		"ResourceQuota", "LimitRange", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy",
		"ConfigMap", "Secret", "PersistentVolume", "PersistentVolumeClaim", "Service",
		"DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job", "CronJob", "Pod",
		"HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
		"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
	} {
		kindOrder[kind] = i + 1
	}
}

// less orders objects by stage, kind, namespace, name and group.
func less(a, b Object) bool {
	if sa, sb := StageOf(a.Unstructured), StageOf(b.Unstructured); sa != sb {
		return sa < sb
	}
	ka, kb := a.Key(), b.Key()
	if oa, ob := order(ka.Kind), order(kb.Kind); oa != ob {
		return oa < ob
	}
	if ka.Kind != kb.Kind {
		return ka.Kind < kb.Kind
	}
	if ka.Namespace != kb.Namespace {
		return ka.Namespace < kb.Namespace
	}
	if ka.Name != kb.Name {
		return ka.Name < kb.Name
	}
	return ka.Group < kb.Group
}

// order places known kinds first, in kindOrder, and the rest after them.
func order(kind string) int {
	if o, ok := kindOrder[kind]; ok {
		return o
	}
	return len(kindOrder) + 1
}
