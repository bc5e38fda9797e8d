package okdtest

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// The OpenShift objects the install waits on (reference §2.3, §2.4). They
// are not client-go types, so the simulator keeps them as unstructured
// objects in a dynamic fake client: code that reads them with a
// dynamic.Interface works the same against Sim.Dynamic() and a real cluster.
var (
	ClusterVersionGVR = schema.GroupVersionResource{Group: "config.openshift.io", Version: "v1", Resource: "clusterversions"}
	EtcdGVR           = schema.GroupVersionResource{Group: "operator.openshift.io", Version: "v1", Resource: "etcds"}
)

// Names of the singleton objects.
const (
	ClusterVersionName = "version"
	EtcdName           = "cluster"
	// BootstrapConfigMap (in kube-system) is created by the bootstrap's
	// report-progress.sh with data.status = "complete".
	BootstrapConfigMap = "bootstrap"
)

// ClusterVersionStatus is the part of ClusterVersion "version" that
// `wait-for install-complete` watches: Available=True, Failing=False and
// Progressing=False mean installed.
type ClusterVersionStatus struct {
	Version     string
	Available   bool
	Progressing bool
	Failing     bool
	Message     string // the Progressing (or Failing) message
}

// Installed reports whether install-complete's first condition holds.
func (c ClusterVersionStatus) Installed() bool { return c.Available && !c.Progressing && !c.Failing }

func newSimDynamic(version string) *dynamicfake.FakeDynamicClient {
	cv := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "config.openshift.io/v1",
		"kind":       "ClusterVersion",
		"metadata":   map[string]any{"name": ClusterVersionName},
		"spec":       map[string]any{"clusterID": "00000000-0000-4000-8000-000000000000"},
	}}
	simSetCVStatus(cv, ClusterVersionStatus{Version: version, Progressing: true, Message: "Working towards " + version})
	etcd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "operator.openshift.io/v1",
		"kind":       "Etcd",
		"metadata":   map[string]any{"name": EtcdName},
		"status": map[string]any{"conditions": []any{
			map[string]any{"type": "EtcdBootstrapMemberRemoved", "status": "False", "reason": "BootstrapMemberPresent"},
		}},
	}}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		ClusterVersionGVR: "ClusterVersionList",
		EtcdGVR:           "EtcdList",
	}, cv, etcd)
}

func simCond(typ string, on bool, reason, msg string) map[string]any {
	st := "False"
	if on {
		st = "True"
	}
	return map[string]any{"type": typ, "status": st, "reason": reason, "message": msg, "lastTransitionTime": "2026-01-01T00:00:00Z"}
}

func simSetCVStatus(cv *unstructured.Unstructured, st ClusterVersionStatus) {
	cv.Object["status"] = map[string]any{
		"desired": map[string]any{"version": st.Version},
		"conditions": []any{
			simCond("Available", st.Available, "", "Done applying "+st.Version),
			simCond("Progressing", st.Progressing, "", st.Message),
			simCond("Failing", st.Failing, "", ""),
		},
	}
}

// ClusterVersion reads ClusterVersion "version".
func (s *Sim) ClusterVersion(ctx context.Context) (ClusterVersionStatus, error) {
	u, err := s.dyn.Resource(ClusterVersionGVR).Get(ctx, ClusterVersionName, metav1.GetOptions{})
	if err != nil {
		return ClusterVersionStatus{}, fmt.Errorf("okdtest: get clusterversion: %w", err)
	}
	var st ClusterVersionStatus
	st.Version, _, _ = unstructured.NestedString(u.Object, "status", "desired", "version")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		on := m["status"] == "True"
		switch m["type"] {
		case "Available":
			st.Available = on
		case "Progressing":
			st.Progressing = on
			st.Message, _ = m["message"].(string)
		case "Failing":
			st.Failing = on
		}
	}
	return st, nil
}

// SetClusterVersion writes ClusterVersion "version"'s status.
func (s *Sim) SetClusterVersion(ctx context.Context, st ClusterVersionStatus) error {
	u, err := s.dyn.Resource(ClusterVersionGVR).Get(ctx, ClusterVersionName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("okdtest: get clusterversion: %w", err)
	}
	if st.Version == "" {
		st.Version, _, _ = unstructured.NestedString(u.Object, "status", "desired", "version")
	}
	simSetCVStatus(u, st)
	if _, err := s.dyn.Resource(ClusterVersionGVR).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("okdtest: update clusterversion: %w", err)
	}
	return nil
}

// CompleteBootstrap does what the end of bootstrapping does: ConfigMap
// kube-system/bootstrap with status=complete (report-progress.sh) and
// EtcdBootstrapMemberRemoved=True on etcds/cluster. It is idempotent.
func (s *Sim) CompleteBootstrap(ctx context.Context) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: BootstrapConfigMap, Namespace: "kube-system"},
		Data:       map[string]string{"status": "complete"},
	}
	cms := s.kube.CoreV1().ConfigMaps("kube-system")
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("okdtest: update bootstrap configmap: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("okdtest: create bootstrap configmap: %w", err)
	}
	u, err := s.dyn.Resource(EtcdGVR).Get(ctx, EtcdName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("okdtest: get etcd: %w", err)
	}
	_ = unstructured.SetNestedSlice(u.Object, []any{simCond("EtcdBootstrapMemberRemoved", true, "BootstrapMemberRemoved", "")}, "status", "conditions")
	if _, err := s.dyn.Resource(EtcdGVR).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("okdtest: update etcd: %w", err)
	}
	return nil
}

// BootstrapComplete reports whether kube-system/bootstrap says complete.
func (s *Sim) BootstrapComplete(ctx context.Context) (bool, error) {
	cm, err := s.kube.CoreV1().ConfigMaps("kube-system").Get(ctx, BootstrapConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("okdtest: get bootstrap configmap: %w", err)
	}
	return cm.Data["status"] == "complete", nil
}

// progress moves bootstrap and install along after a node became Ready.
func (s *Sim) progress(ctx context.Context) {
	s.mu.Lock()
	masters, mastersReady, all, allReady := 0, 0, len(s.nodes), 0
	for _, n := range s.nodes {
		ready := n.status.Phase == PhaseReady
		if n.spec.Role == RoleMaster {
			masters++
			if ready {
				mastersReady++
			}
		}
		if ready {
			allReady++
		}
	}
	s.mu.Unlock()
	if masters == 0 || mastersReady < masters {
		return
	}
	done, err := s.BootstrapComplete(ctx)
	if err == nil && !done {
		err = s.CompleteBootstrap(ctx)
	}
	if err != nil {
		s.cfg.log.Warn("simulated bootstrap progress", "err", err)
		return
	}
	if allReady < all {
		return
	}
	st, err := s.ClusterVersion(ctx)
	if err == nil && !st.Installed() {
		err = s.SetClusterVersion(ctx, ClusterVersionStatus{Version: st.Version, Available: true, Message: "Cluster version is " + st.Version})
	}
	if err != nil {
		s.cfg.log.Warn("simulated install progress", "err", err)
	}
}
