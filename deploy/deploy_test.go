package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestManifestsDecodeStrictly(t *testing.T) {
	b := load(t)
	// Every manifest here is applied: a file left out of the kustomization
	// would be a manifest nobody checks.
	yamls, _ := filepath.Glob("*.yaml")
	for _, f := range yamls {
		if f != "kustomization.yaml" && !slices.Contains(b.kust.Resources, f) {
			t.Errorf("%s is not in kustomization.yaml's resources", f)
		}
	}
	if len(b.kust.Images) != 1 || b.kust.Images[0].Name != "care360" {
		t.Fatalf("kustomization.yaml: images must set the image care360, got %+v", b.kust.Images)
	}
	img := b.kust.Images[0]
	c := b.deployment.Spec.Template.Spec.Containers
	if len(c) != 1 || c[0].Image != img.NewName+":"+img.NewTag || !slices.Equal(c[0].Args, []string{"serve"}) {
		t.Errorf("want one container running %s:%s with args [serve]", img.NewName, img.NewTag)
	}
}

// The decoder is what makes the other tests mean something: a misspelt or
// misplaced field must fail, not vanish.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n"},
		{"wrong case", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {Replicas: 2}\n"},
		{"repeated field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP, type: NodePort}\n"},
		{"misplaced field", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x, minAvailable: 1}\n"},
		{"unknown kind", "apiVersion: v1\nkind: Servise\nmetadata: {name: x}\n"},
		{"Cluster unknown field", "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {instances: 3, synchronus: {}}\n"},
		{"Cluster nested unknown field", "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {postgresql: {synchronous: {method: any, number: 1, quorum: 1}}}\n"},
	} {
		if _, err := decodeManifest([]byte(tc.yaml)); err == nil {
			t.Errorf("%s: decoded without error", tc.name)
		}
	}
	var k kustomization
	if err := decodeStrict([]byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource: [a.yaml]\n"), &k); err == nil {
		t.Error("kustomization with `resource:` decoded without error")
	}
}

func TestDeploymentReplicasAndProbes(t *testing.T) {
	b := load(t)
	d := b.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas: want at least 2 (any one may die), got %d", ptrOr(d.Spec.Replicas))
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("a rolling update must start a new replica before stopping an old one (maxUnavailable 0)")
	}
	c := d.Spec.Template.Spec.Containers[0]
	// The probes' port is the one the gateway listens on.
	_, port, err := net.SplitHostPort(b.configMap(t, "care360-env")["CARE360_HTTP_ADDR"])
	if err != nil {
		t.Fatalf("CARE360_HTTP_ADDR: %v", err)
	}
	var http *corev1.ContainerPort
	for i, p := range c.Ports {
		if p.Name == "http" {
			http = &c.Ports[i]
		}
	}
	if http == nil || strconv.Itoa(int(http.ContainerPort)) != port {
		t.Fatalf("want a container port named http at CARE360_HTTP_ADDR's %s, got %+v", port, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET of %s", p.name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || (g.Port.String() != "http" && g.Port.String() != port) {
			t.Errorf("%s probe: want GET %s on the http port, got %s on %s", p.name, p.path, g.Path, g.Port.String())
		}
	}
	// The startup probe must outlast a replica waiting for another's
	// migrations (goose's lock, polled for up to 5 minutes).
	if s := c.StartupProbe; s != nil && time.Duration(s.PeriodSeconds*s.FailureThreshold)*time.Second < 5*time.Minute {
		t.Errorf("startup probe gives up after %d s, before the migration lock's 300 s", s.PeriodSeconds*s.FailureThreshold)
	}
}

// shutdownDefaults are the stage budgets of a graceful stop when
// care360.json's "shutdown" leaves one out (cmd/care360/config.go,
// PRODUCT.md §1).
var shutdownDefaults = map[string]time.Duration{"steps": 5 * time.Second, "hand_back": 2 * time.Second,
	"unbind": 2 * time.Second, "http": 5 * time.Second}

// shutdownMargin is what the grace period keeps beyond the preStop pause
// and the stages, for closing the pools and exiting.
const shutdownMargin = 5 * time.Second

func TestGracePeriodCoversShutdownBudgets(t *testing.T) {
	b := load(t)
	budgets := map[string]string{}
	if raw, ok := b.configJSON(t)["shutdown"]; ok {
		if err := json.Unmarshal(raw, &budgets); err != nil {
			t.Fatalf("care360.json shutdown: %v", err)
		}
	}
	total := time.Duration(0)
	for stage, def := range shutdownDefaults {
		d := def
		if s, ok := budgets[stage]; ok {
			var err error
			if d, err = time.ParseDuration(s); err != nil {
				t.Fatalf("care360.json shutdown.%s: %v", stage, err)
			}
		}
		total += d
	}
	spec := b.deployment.Spec.Template.Spec
	// A preStop hook runs inside the grace period, before SIGTERM.
	if h := spec.Containers[0].Lifecycle; h != nil && h.PreStop != nil {
		if h.PreStop.Sleep == nil {
			t.Fatal("preStop: only a sleep (the image has no shell)")
		}
		total += time.Duration(h.PreStop.Sleep.Seconds) * time.Second
	}
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds is not set")
	}
	if grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second; grace < total+shutdownMargin {
		t.Errorf("terminationGracePeriodSeconds %s: want at least the preStop pause and the shutdown stages (%s) + %s",
			grace, total, shutdownMargin)
	}
}

func TestPDBAndServiceSelectGatewayPods(t *testing.T) {
	b := load(t)
	pods := labels.Set(b.deployment.Spec.Template.Labels)
	own, err := metav1.LabelSelectorAsSelector(b.deployment.Spec.Selector)
	if err != nil || !own.Matches(pods) {
		t.Fatalf("the Deployment's selector does not match its own pods: %v", err)
	}
	sel, err := metav1.LabelSelectorAsSelector(b.pdb.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(pods) {
		t.Errorf("the PodDisruptionBudget does not select the gateway's pods (%v)", err)
	}
	if m := b.pdb.Spec.MinAvailable; m == nil || m.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget minAvailable: want 1, got %v", m)
	}
	if p := b.pdb.Spec.UnhealthyPodEvictionPolicy; p == nil || *p != "AlwaysAllow" {
		t.Errorf("PodDisruptionBudget: unready replicas (SMSC away) must stay evictable")
	}
	svc := labels.SelectorFromSet(b.service.Spec.Selector)
	if len(b.service.Spec.Selector) == 0 || !svc.Matches(pods) {
		t.Errorf("the Service does not select the gateway's pods")
	}
	for _, p := range b.service.Spec.Ports {
		if p.TargetPort.String() != "http" {
			t.Errorf("Service port %s: want targetPort http, got %s", p.Name, p.TargetPort.String())
		}
	}
}

// Every ConfigMap, Secret and key the pods name exists: in the generated
// ConfigMaps, in docs/deploy.md's Secret, or among CloudNativePG's.
func TestReferencesResolve(t *testing.T) {
	b := load(t)
	spec := b.deployment.Spec.Template.Spec
	checkCM := func(what, name, key string) {
		data, ok := b.configMaps[name]
		if !ok {
			t.Errorf("%s: no ConfigMap %q", what, name)
		} else if _, ok := data[key]; key != "" && !ok {
			t.Errorf("%s: ConfigMap %q has no key %q", what, name, key)
		}
	}
	checkSecret := func(what, name, key string) {
		keys, ok := b.secrets[name]
		if !ok {
			t.Errorf("%s: no Secret %q", what, name)
		} else if key != "" && !slices.Contains(keys, key) {
			t.Errorf("%s: Secret %q has no key %q (it has %v)", what, name, key, keys)
		}
	}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				checkCM("env "+e.Name, r.Name, r.Key)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				checkSecret("env "+e.Name, r.Name, r.Key)
			}
		}
		for _, e := range c.EnvFrom {
			if r := e.ConfigMapRef; r != nil {
				checkCM("envFrom", r.Name, "")
			}
			if r := e.SecretRef; r != nil {
				checkSecret("envFrom", r.Name, "")
			}
		}
	}
	for _, v := range spec.Volumes {
		if s := v.ConfigMap; s != nil {
			for _, it := range s.Items {
				checkCM("volume "+v.Name, s.Name, it.Key)
			}
		}
		if s := v.Secret; s != nil {
			for _, it := range s.Items {
				checkSecret("volume "+v.Name, s.SecretName, it.Key)
			}
		}
		if p := v.Projected; p != nil {
			for _, src := range p.Sources {
				if s := src.ConfigMap; s != nil {
					for _, it := range s.Items {
						checkCM("volume "+v.Name, s.Name, it.Key)
					}
				}
				if s := src.Secret; s != nil {
					for _, it := range s.Items {
						checkSecret("volume "+v.Name, s.Name, it.Key)
					}
				}
			}
		}
	}
}

// gatewayEnvNames are the CARE360_ variables the gateway's source names
// (cmd/care360, not its tests).
func gatewayEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "cmd", "care360", "*.go"))
	names := map[string]bool{}
	re := regexp.MustCompile(`"(CARE360_[A-Z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(read(t, f)), -1) {
			names[m[1]] = true
		}
	}
	if len(names) == 0 {
		t.Fatal("found no CARE360_ variable in ../cmd/care360")
	}
	return names
}

// No variable is set that the gateway would not read: a misspelt one would
// be silently ignored, leaving its default in force.
func TestEnvVarsAreTheGatewaysOwn(t *testing.T) {
	b := load(t)
	known := gatewayEnvNames(t)
	// The binds in care360.json name the variables of their passwords.
	var file struct {
		Binds []struct {
			PasswordEnv string `json:"password_env"`
		} `json:"binds"`
	}
	if err := json.Unmarshal([]byte(b.configMap(t, "care360-config")["care360.json"]), &file); err != nil {
		t.Fatal(err)
	}
	for _, bind := range file.Binds {
		if bind.PasswordEnv != "" {
			known[bind.PasswordEnv] = true
		}
	}
	c := b.deployment.Spec.Template.Spec.Containers[0]
	var set []string
	for _, e := range c.Env {
		set = append(set, e.Name)
	}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			for k := range b.configMaps[e.ConfigMapRef.Name] {
				if !validEnvName.MatchString(k) {
					t.Errorf("ConfigMap %s: %q is not a variable name, so envFrom skips it", e.ConfigMapRef.Name, k)
				}
				set = append(set, k)
			}
		}
		if e.SecretRef != nil {
			set = append(set, b.secrets[e.SecretRef.Name]...)
		}
	}
	for _, name := range set {
		if !known[name] {
			t.Errorf("%s is set but cmd/care360 reads no such variable", name)
		}
	}
	for _, must := range []string{"CARE360_DATABASE_URL", "CARE360_ADMIN_TOKEN", "CARE360_CONFIG"} {
		if !slices.Contains(set, must) {
			t.Errorf("%s is not set: serve needs it", must)
		}
	}
	// Serve needs binds: in the file, or CARE360_SMPP_ADDR.
	if len(file.Binds) == 0 && !slices.Contains(set, "CARE360_SMPP_ADDR") {
		t.Error("no binds: neither care360.json nor CARE360_SMPP_ADDR names one")
	}
	for _, bind := range file.Binds {
		if bind.PasswordEnv != "" && !slices.Contains(set, bind.PasswordEnv) {
			t.Errorf("a bind takes its password from %s, which the container does not set", bind.PasswordEnv)
		}
	}
	// CARE360_CONFIG names the file the config volume mounts.
	cfg := b.configMap(t, "care360-env")["CARE360_CONFIG"]
	if !mounted(b, cfg, "care360-config", "care360.json") {
		t.Errorf("CARE360_CONFIG %s is not care360.json of the mounted ConfigMap care360-config", cfg)
	}
}

// mounted reports whether file is where the container sees key of the
// ConfigMap or Secret named source.
func mounted(b *bundle, file, source, key string) bool {
	spec := b.deployment.Spec.Template.Spec
	for _, m := range spec.Containers[0].VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			var items []corev1.KeyToPath
			if v.ConfigMap != nil && generatedAs(v.ConfigMap.Name, source) {
				items = v.ConfigMap.Items
			}
			if v.Secret != nil && v.Secret.SecretName == source {
				items = v.Secret.Items
			}
			if p := v.Projected; p != nil {
				for _, s := range p.Sources {
					if s.Secret != nil && s.Secret.Name == source {
						items = append(items, s.Secret.Items...)
					}
					if s.ConfigMap != nil && generatedAs(s.ConfigMap.Name, source) {
						items = append(items, s.ConfigMap.Items...)
					}
				}
			}
			for _, it := range items {
				if it.Key == key && path.Join(m.MountPath, it.Path) == file {
					return true
				}
			}
		}
	}
	return false
}

// The keys of care360.json are ones the gateway's loader knows: its
// fileConfig struct (cmd/care360/config.go), read from the source, with
// the keys of nested objects. The gateway's own test
// (cmd/care360 TestDeployConfigLoads) also runs the file through the real
// loader.
func TestConfigJSONKeysAreKnown(t *testing.T) {
	b := load(t)
	known := fileConfigKeys(t)
	var walk func(prefix string, raw json.RawMessage)
	walk = func(prefix string, raw json.RawMessage) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		for k, v := range obj {
			key := strings.TrimPrefix(prefix+"."+k, ".")
			sub, ok := known[key]
			if !ok {
				t.Errorf("care360.json: %s is not a key the gateway knows", key)
				continue
			}
			if sub {
				walk(key, v)
			}
		}
	}
	raw, _ := json.Marshal(b.configJSON(t))
	walk("", raw)
}

// fileConfigKeys reads fileConfig's JSON names: "db_conns.ussd" and so on,
// true for an object whose own keys are listed too.
func fileConfigKeys(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "cmd", "care360", "config.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var fields func(prefix string, st *ast.StructType)
	fields = func(prefix string, st *ast.StructType) {
		for _, fld := range st.Fields.List {
			if fld.Tag == nil {
				continue
			}
			tag, _ := strconv.Unquote(fld.Tag.Value)
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := strings.TrimPrefix(prefix+"."+name, ".")
			typ := fld.Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			sub, ok := typ.(*ast.StructType)
			keys[key] = ok
			if ok {
				fields(key, sub)
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "fileConfig" {
			fields("", ts.Type.(*ast.StructType))
			return false
		}
		return true
	})
	if len(keys) == 0 {
		t.Fatal("no fileConfig struct in ../cmd/care360/config.go")
	}
	return keys
}

func TestDatabaseURLIsTheClustersPrimary(t *testing.T) {
	b := load(t)
	raw := b.configMap(t, "care360-env")["CARE360_DATABASE_URL"]
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("CARE360_DATABASE_URL: %v", err)
	}
	c := b.cluster
	if c.Spec.Bootstrap == nil || c.Spec.Bootstrap.InitDB == nil {
		t.Fatal("the Cluster must bootstrap the gateway's database (initdb)")
	}
	initdb := c.Spec.Bootstrap.InitDB
	if u.Hostname() != c.Metadata.Name+"-rw" || u.Port() != "5432" {
		t.Errorf("CARE360_DATABASE_URL: want the read-write service %s-rw:5432, got %s", c.Metadata.Name, u.Host)
	}
	if strings.TrimPrefix(u.Path, "/") != initdb.Database || u.User.Username() != initdb.Owner {
		t.Errorf("CARE360_DATABASE_URL: want database %s as %s, got %s as %s", initdb.Database, initdb.Owner, u.Path, u.User.Username())
	}
	if _, has := u.User.Password(); has {
		t.Error("CARE360_DATABASE_URL carries a password, in a ConfigMap")
	}
	q := u.Query()
	if q.Get("sslmode") != "verify-full" {
		t.Errorf("sslmode: want verify-full, got %q", q.Get("sslmode"))
	}
	if !mounted(b, q.Get("passfile"), c.Metadata.Name+"-app", "pgpass") {
		t.Errorf("passfile %s is not the mounted key pgpass of %s-app", q.Get("passfile"), c.Metadata.Name)
	}
	if !mounted(b, q.Get("sslrootcert"), c.Metadata.Name+"-ca", "ca.crt") {
		t.Errorf("sslrootcert %s is not the mounted key ca.crt of %s-ca", q.Get("sslrootcert"), c.Metadata.Name)
	}
}

func TestPostgresQuorumAndConnections(t *testing.T) {
	b := load(t)
	c := b.cluster
	if c.Spec.Instances != 3 {
		t.Errorf("instances: want 3 (a primary and two standbys), got %d", c.Spec.Instances)
	}
	// A quorum of one of the two standbys, in the newer stanza or the
	// older fields.
	if s := c.Spec.PostgreSQL.Synchronous; s != nil {
		if s.Method != "any" || s.Number != 1 || s.DataDurability != "required" {
			t.Errorf("synchronous: want method any, number 1, dataDurability required; got %+v", *s)
		}
	} else if c.Spec.MinSyncReplicas != 1 || c.Spec.MaxSyncReplicas != 2 {
		t.Errorf("want synchronous replication as a quorum: postgresql.synchronous, or minSyncReplicas 1 and maxSyncReplicas 2")
	}
	// Every replica's pools, and one more replica during a rolling update,
	// must fit in max_connections with room for the operator's own.
	var conns struct {
		DBConns struct{ USSD, API int } `json:"db_conns"`
	}
	raw, _ := json.Marshal(b.configJSON(t))
	if err := json.Unmarshal(raw, &conns); err != nil {
		t.Fatal(err)
	}
	perReplica := or(conns.DBConns.USSD, 24) + or(conns.DBConns.API, 8)
	replicas := int(*b.deployment.Spec.Replicas) + surge(b.deployment)
	maxConns, err := strconv.Atoi(c.Spec.PostgreSQL.Parameters["max_connections"])
	if err != nil {
		maxConns = 100 // Postgres' default
	}
	const reserved = 20 // superuser_reserved_connections, the operator's probes and monitoring, a person's psql
	if need := replicas*perReplica + reserved; need > maxConns {
		t.Errorf("max_connections %d: %d replicas x %d connections + %d reserved = %d", maxConns, replicas, perReplica, reserved, need)
	}
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return 1 // the Deployment default
	}
	return *p
}

func or(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// surge is how many replicas a rolling update adds at most.
func surge(d *appsv1.Deployment) int {
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
		return ru.MaxSurge.IntValue()
	}
	return 1
}
