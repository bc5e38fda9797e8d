package ignition_test

import (
	"strings"
	"testing"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

// testSSHKey is a syntactically valid ed25519 public key (not anyone's).
const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f okvm-test"

// richBase uses only spec 3.0 features, so it is valid in every 3.x once
// the version is substituted.
const richBase = `{
  "ignition": {"version": "VERSION",
    "config": {"merge": [{"source": "https://example.com/extra.ign", "verification": {"hash": "sha512-` + sha512Hex + `"}}]},
    "security": {"tls": {"certificateAuthorities": [{"source": "data:,not-really-a-ca"}]}},
    "timeouts": {"httpTotal": 30, "httpResponseHeaders": 10}},
  "passwd": {
    "users": [{"name": "core", "sshAuthorizedKeys": ["` + testSSHKey + `"], "groups": ["wheel", "sudo"]},
              {"name": "svc", "uid": 1001, "homeDir": "/var/home/svc", "noCreateHome": false, "system": true}],
    "groups": [{"name": "ops", "gid": 2001}]},
  "storage": {
    "disks": [{"device": "/dev/disk/by-id/virtio-data", "wipeTable": true,
               "partitions": [{"number": 1, "label": "data", "sizeMiB": 0, "startMiB": 0}]}],
    "filesystems": [{"device": "/dev/disk/by-partlabel/data", "format": "xfs", "path": "/var/data", "label": "data", "wipeFilesystem": true}],
    "raid": [{"name": "md0", "level": "raid1", "devices": ["/dev/vdb", "/dev/vdc"], "spares": 0}],
    "directories": [{"path": "/etc/okvm", "mode": 493}],
    "links": [{"path": "/etc/okvm/current", "target": "/etc/okvm/v1", "hard": false}],
    "files": [
      {"path": "/etc/motd", "mode": 420, "overwrite": true, "contents": {"source": "data:,hello%20world%0A"}},
      {"path": "/etc/okvm/v1", "contents": {"source": "data:;base64,aGVsbG8K"}, "user": {"name": "core"}, "group": {"id": 0}},
      {"path": "/etc/okvm/gz", "contents": {"compression": "gzip", "source": "data:;base64,H4sIAAAAAAAC/8pIzcnJBwQAAP//IDA6NgYAAAA="}},
      {"path": "/etc/okvm/log", "append": [{"source": "data:,line%0A"}]}
    ]},
  "systemd": {"units": [
    {"name": "okvm.service", "enabled": true, "contents": "[Service]\nExecStart=/bin/true && echo <ok>\n[Install]\nWantedBy=multi-user.target\n"},
    {"name": "zincati.service", "enabled": false, "dropins": [{"name": "10-okvm.conf", "contents": "[Service]\nEnvironment=X=1\n"}]},
    {"name": "docker.socket", "mask": true}]}
}`

const sha512Hex = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

// richConfigs holds a config for every supported version, each with a
// feature its version introduced.
func richConfigs() map[string]string {
	extras := map[string]string{
		ignition.V3_1: `"proxy": {"httpProxy": "http://proxy.example.com:3128", "noProxy": ["example.com"]},`,
		ignition.V3_2: `"proxy": {"httpsProxy": "https://proxy.example.com:3128"},`,
	}
	storageExtras := map[string]string{
		ignition.V3_2: `"luks": [{"name": "data", "device": "/dev/vdd", "clevis": {"tpm2": true}}],`,
		ignition.V3_3: `"luks": [{"name": "data", "device": "/dev/vdd", "clevis": {"tang": [{"url": "http://tang.example.com", "thumbprint": "abc"}]}}],`,
		ignition.V3_4: `"luks": [{"name": "data", "device": "/dev/vdd", "discard": true, "clevis": {"tpm2": true}}],`,
		ignition.V3_5: `"luks": [{"name": "data", "device": "/dev/vdd", "cex": {"enabled": true}}],`,
	}
	topExtras := map[string]string{
		ignition.V3_3: `"kernelArguments": {"shouldExist": ["console=ttyS0"], "shouldNotExist": ["quiet"]},`,
		ignition.V3_4: `"kernelArguments": {"shouldExist": ["mitigations=auto"]},`,
		ignition.V3_5: `"kernelArguments": {"shouldNotExist": ["rhgb"]},`,
	}
	out := map[string]string{}
	for _, v := range ignition.Versions() {
		s := strings.Replace(richBase, "VERSION", v, 1)
		s = strings.Replace(s, `"timeouts":`, extras[v]+` "timeouts":`, 1)
		s = strings.Replace(s, `"disks":`, storageExtras[v]+` "disks":`, 1)
		s = strings.Replace(s, `"passwd": {`, topExtras[v]+` "passwd": {`, 1)
		out[v] = s
	}
	return out
}

// pointer returns a master pointer config with a real CA.
func pointer(t testing.TB) []byte {
	t.Helper()
	a, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{Seed: 42, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	return a.Master
}
