package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Simulated durations of a healthy install (scaled by the speed).
const (
	simAPIUp        = 4 * time.Minute
	simBootstrap    = 12 * time.Minute
	simEtcdRemoval  = 40 * time.Second
	simClusterInit  = 18 * time.Minute
	simOperators    = 3 * time.Minute
	simPollInterval = 2 * time.Second // the installer's API poll
)

func until(t time.Time) string { return t.UTC().Format("3:04PM MST") }

// waitOutcome says how a wait ended.
type waitOutcome struct {
	ok  bool
	msg string // failure message (from a …-failed file)
}

// waitFor waits one stage. In delay mode it sleeps d (simulated); in file
// mode it polls for <dir>/.fake/<okFile> or <failFile>, logging a debug
// "still waiting" line now and then.
func (f *fake) waitFor(d time.Duration, okFile, failFile, still string) waitOutcome {
	if f.s.Wait != "file" {
		steps := 3
		for i := 0; i < steps; i++ {
			f.sleep(d / time.Duration(steps))
			if i < steps-1 && still != "" {
				f.log.debug(still)
			}
		}
		return waitOutcome{ok: true}
	}
	last := time.Now()
	for {
		if okFile != "" {
			for _, ok := range strings.Split(okFile, "|") {
				if _, err := os.Stat(filepath.Join(f.fakeDir(), ok)); err == nil {
					return waitOutcome{ok: true}
				}
			}
		}
		if failFile != "" {
			if b, err := os.ReadFile(filepath.Join(f.fakeDir(), failFile)); err == nil {
				return waitOutcome{msg: strings.TrimSpace(string(b))}
			}
		}
		time.Sleep(20 * time.Millisecond)
		f.simNow = f.simNow.Add(simPollInterval)
		if still != "" && time.Since(last) > 500*time.Millisecond {
			f.log.debug(still)
			last = time.Now()
		}
	}
}

func (f *fake) domain() (string, bool) {
	st := f.loadState()
	if st.InstallConfig == nil {
		f.log.fatal(`loading kubeconfig: open ` + filepath.Join(f.a.dir, "auth/kubeconfig") + `: no such file or directory`)
		return "", false
	}
	return st.InstallConfig.domain(), true
}

func (f *fake) waitBootstrap() int {
	dom, ok := f.domain()
	if !ok {
		return exitGeneric
	}
	start := f.now()
	code := f.scriptedFailure()
	api := fmt.Sprintf("https://api.%s:6443", dom)
	f.log.infof("Waiting up to 20m0s (until %s) for the Kubernetes API at %s...", until(f.now().Add(20*time.Minute)), api)
	still := fmt.Sprintf("Still waiting for the Kubernetes API: Get \"%s/version\": dial tcp: lookup api.%s on 192.168.126.1:53: no such host", api, dom)
	if code == exitInfrastructure || code == exitGeneric || code == exitInterrupt || code == exitInstallConfig {
		return f.failGeneric(code)
	}
	out := f.waitFor(simAPIUp, "api-up|bootstrap-complete", "api-failed", still)
	if !out.ok {
		f.log.errorf("Attempted to gather debug logs after installation failure: must provide bootstrap host address")
		f.log.errorf("Bootstrap failed to complete: %s", orDefault(out.msg, "Get \""+api+"/version\": dial tcp: i/o timeout"))
		f.log.errorf("Failed waiting for Kubernetes API. This error usually happens when there is a problem on the bootstrap host that prevents creating a temporary control plane.")
		return exitBootstrap
	}
	f.log.info("API v1.32.5 up")
	f.log.infof("Waiting up to 45m0s (until %s) for bootstrapping to complete...", until(f.now().Add(45*time.Minute)))
	if code == exitBootstrap {
		f.sleep(simBootstrap / 2)
		return f.bootstrapFailed("timed out waiting for the condition")
	}
	out = f.waitFor(simBootstrap, "bootstrap-complete", "bootstrap-failed", "")
	if !out.ok {
		return f.bootstrapFailed(out.msg)
	}
	f.log.debug("Bootstrap status: complete")
	f.log.infof("Waiting up to 5m0s (until %s) for the bootstrap etcd member to be removed...", until(f.now().Add(5*time.Minute)))
	f.sleep(simEtcdRemoval)
	f.log.debug("Bootstrap etcd member has been removed")
	f.log.info("It is now safe to remove the bootstrap resources")
	f.log.debugf("Time elapsed per stage:")
	f.log.infof("Time elapsed: %s", f.now().Sub(start).Round(time.Second))
	if code != 0 {
		return f.failGeneric(code)
	}
	return 0
}

func (f *fake) bootstrapFailed(msg string) int {
	f.log.errorf("Bootstrap failed to complete: %s", orDefault(msg, "timed out waiting for the condition"))
	f.log.errorf("Failed to wait for bootstrapping to complete. This error usually happens when there is a problem with control plane hosts that prevents the control plane operators from creating the control plane.")
	return exitBootstrap
}

func (f *fake) waitInstall() int {
	dom, ok := f.domain()
	if !ok {
		return exitGeneric
	}
	start := f.now()
	code := f.scriptedFailure()
	f.log.infof("Waiting up to 40m0s (until %s) for the cluster at https://api.%s:6443 to initialize...", until(f.now().Add(40*time.Minute)), dom)
	still := "Still waiting for the cluster to initialize: Working towards " + f.s.Release + ": 712 of 903 done (78% complete)"
	if code == exitInstall {
		f.sleep(simClusterInit / 2)
		return f.installFailed("Cluster operator authentication is not available")
	}
	if code != 0 && code != exitOperatorStability {
		return f.failGeneric(code)
	}
	out := f.waitFor(simClusterInit, "install-complete", "install-failed", still)
	if !out.ok {
		return f.installFailed(out.msg)
	}
	f.log.debug("Cluster is initialized")
	// The router CA is merged into auth/kubeconfig here.
	kc := filepath.Join(f.a.dir, "auth", "kubeconfig")
	if b, err := os.ReadFile(kc); err == nil {
		os.WriteFile(kc, append(b, []byte("# router CA merged by wait-for install-complete (fake)\n")...), 0o600)
	}
	f.log.infof("Waiting up to 30m0s (until %s) to ensure each cluster operator has finished progressing...", until(f.now().Add(30*time.Minute)))
	if code == exitOperatorStability {
		f.sleep(simOperators)
		f.log.errorf("Cluster operator console is Progressing=True: SyncLoopRefreshProgressing")
		f.log.errorf("These cluster operators were not stable: [authentication, console]")
		f.log.errorf("failed to initialize the cluster: timed out waiting for the condition")
		return exitOperatorStability
	}
	if _, err := os.Stat(filepath.Join(f.fakeDir(), "operators-unstable")); err == nil {
		f.log.errorf("These cluster operators were not stable: [authentication]")
		return exitOperatorStability
	}
	for _, op := range []string{"authentication", "console", "ingress", "kube-apiserver", "machine-config"} {
		f.sleep(simOperators / 5)
		f.log.debugf("Cluster Operator %s is stable", op)
	}
	f.log.info("All cluster operators have completed progressing")
	f.log.info("Checking to see if there is a route at openshift-console/console...")
	f.log.debug("Route found in openshift-console namespace: console")
	f.log.debug("OpenShift console route is admitted")
	pw, _ := os.ReadFile(filepath.Join(f.a.dir, "auth", "kubeadmin-password"))
	abs, _ := filepath.Abs(f.a.dir)
	f.log.info("Install complete!")
	f.log.info("To access the cluster as the system:admin user when using 'oc', run")
	f.log.infof("    export KUBECONFIG=%s", filepath.Join(abs, "auth", "kubeconfig"))
	f.log.infof("Access the OpenShift web-console here: https://console-openshift-console.apps.%s", dom)
	f.log.infof("Login to the console with user: %q, and password: %q", "kubeadmin", strings.TrimSpace(string(pw)))
	f.log.debugf("Time elapsed per stage:")
	f.log.infof("Time elapsed: %s", f.now().Sub(start).Round(time.Second))
	return 0
}

func (f *fake) installFailed(msg string) int {
	f.log.errorf("Cluster operator authentication Degraded is True with OAuthServerRouteEndpointAccessibleController_SyncError: OAuthServerRouteEndpointAccessibleControllerDegraded")
	f.log.errorf("failed to initialize the cluster: %s", orDefault(msg, "Cluster operator authentication is not available"))
	return exitInstall
}

func (f *fake) gatherBootstrap() int {
	if f.a.bootstrap == "" {
		f.log.fatal("must provide bootstrap host address")
		return exitGeneric
	}
	if code := f.scriptedFailure(); code != 0 {
		return f.failGeneric(code)
	}
	f.log.info("Pulling debug logs from the bootstrap machine")
	f.sleep(30 * time.Second)
	name := fmt.Sprintf("log-bundle-%s.tar.gz", f.now().UTC().Format("20060102150405"))
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"bootstrap/journals/bootkube.log": "bootkube.sh: fake journal\n",
		"rendered-assets/README":          fmt.Sprintf("bootstrap %s masters %s key %s\n", f.a.bootstrap, strings.Join(f.a.masters, ","), f.a.key),
	}
	for n, c := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), ModTime: f.now()})
		tw.Write([]byte(c))
	}
	tw.Close()
	gz.Close()
	abs, _ := filepath.Abs(filepath.Join(f.a.dir, name))
	if err := os.WriteFile(abs, buf.Bytes(), 0o600); err != nil {
		f.log.fatal(err.Error())
		return exitGeneric
	}
	f.log.infof("Bootstrap gather logs captured here %q", abs)
	return 0
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
