package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomization mirrors the fields of kustomize's Kustomization that
// kustomization.yaml uses (sigs.k8s.io/kustomize/api/types, whose module is
// not needed for so little); decoded strictly, a misspelt field fails.
type kustomization struct {
	APIVersion         string   `json:"apiVersion"`
	Kind               string   `json:"kind"`
	Resources          []string `json:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `json:"name"`
		Envs  []string `json:"envs,omitempty"`
		Files []string `json:"files,omitempty"`
	} `json:"configMapGenerator"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
}

// cluster mirrors the part of CloudNativePG's Cluster (postgresql.cnpg.io/v1,
// api/v1/cluster_types.go of CloudNativePG 1.28 and later) that
// postgres.yaml uses, with the same JSON names. The Go module
// github.com/cloudnative-pg/cloudnative-pg is not served to this build, so
// the real type cannot be used; decoded strictly, a field this mirror does
// not know fails the test, which is the point: add it here from the
// upstream type when postgres.yaml needs it.
type cluster struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Instances             int    `json:"instances"`
		ImageName             string `json:"imageName,omitempty"`
		MinSyncReplicas       int    `json:"minSyncReplicas,omitempty"`
		MaxSyncReplicas       int    `json:"maxSyncReplicas,omitempty"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy,omitempty"`
		PrimaryUpdateMethod   string `json:"primaryUpdateMethod,omitempty"`
		PostgreSQL            struct {
			Parameters  map[string]string `json:"parameters,omitempty"`
			Synchronous *struct {
				Method         string `json:"method"`
				Number         int    `json:"number"`
				DataDurability string `json:"dataDurability,omitempty"`
				FailoverQuorum bool   `json:"failoverQuorum"`
			} `json:"synchronous,omitempty"`
		} `json:"postgresql"`
		Bootstrap *struct {
			InitDB *struct {
				Database string `json:"database,omitempty"`
				Owner    string `json:"owner,omitempty"`
			} `json:"initdb,omitempty"`
		} `json:"bootstrap,omitempty"`
		Storage struct {
			StorageClass *string `json:"storageClass,omitempty"`
			Size         string  `json:"size,omitempty"`
		} `json:"storage"`
		Resources corev1.ResourceRequirements `json:"resources,omitempty"`
		Affinity  struct {
			EnablePodAntiAffinity *bool  `json:"enablePodAntiAffinity,omitempty"`
			TopologyKey           string `json:"topologyKey,omitempty"`
			PodAntiAffinityType   string `json:"podAntiAffinityType,omitempty"`
		} `json:"affinity"`
	} `json:"spec"`
}

// appSecretKeys and caSecretKeys are the keys of the secrets CloudNativePG
// makes for a Cluster NAME: NAME-app (pkg/specs/secrets.go) and NAME-ca
// (pkg/certs: ca.crt, ca.key).
var (
	appSecretKeys = []string{"username", "user", "password", "dbname", "host", "port", "pgpass",
		"uri", "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri"}
	caSecretKeys = []string{"ca.crt", "ca.key"}
)

// bundle is everything `kubectl apply -k deploy/` applies, as kustomize
// itself builds it (generated ConfigMaps under their hashed names, the
// references to them rewritten), decoded strictly, plus the objects it
// refers to that are made elsewhere: the Secret of docs/deploy.md's
// `kubectl create secret` step and CloudNativePG's.
type bundle struct {
	kust       kustomization
	deployment *appsv1.Deployment
	service    *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
	cluster    *cluster
	// configMaps: name → data; secrets: name → keys.
	configMaps map[string]map[string]string
	secrets    map[string][]string
}

// load builds the kustomization and decodes every object it makes.
func load(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{configMaps: map[string]map[string]string{}, secrets: map[string][]string{}}
	if err := decodeStrict(read(t, "kustomization.yaml"), &b.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if b.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || b.kust.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %s %s", b.kust.APIVersion, b.kust.Kind)
	}
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	for _, r := range built.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeManifest(raw)
		if err != nil {
			t.Fatalf("%s %s: %v", r.GetKind(), r.GetName(), err)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			b.deployment = o
		case *corev1.Service:
			b.service = o
		case *policyv1.PodDisruptionBudget:
			b.pdb = o
		case *cluster:
			b.cluster = o
		case *corev1.ConfigMap:
			b.configMaps[o.Name] = o.Data
		default:
			t.Fatalf("%s %s: unexpected %T", r.GetKind(), r.GetName(), obj)
		}
	}
	if b.deployment == nil || b.service == nil || b.pdb == nil || b.cluster == nil {
		t.Fatalf("kustomization.yaml must make a Deployment, a Service, a PodDisruptionBudget and a Cluster")
	}
	b.secrets["care360"] = documentedSecretKeys(t)
	b.secrets[b.cluster.Metadata.Name+"-app"] = appSecretKeys
	b.secrets[b.cluster.Metadata.Name+"-ca"] = caSecretKeys
	return b
}

// generatedAs reports whether name is base, or base with the suffix
// kustomize's generators add (a dash and a 10-character hash).
func generatedAs(name, base string) bool {
	return name == base || strings.HasPrefix(name, base+"-") && len(name) == len(base)+11
}

// configMap is the data of the ConfigMap generated as name, whatever hash
// kustomize gave its name.
func (b *bundle) configMap(t *testing.T, name string) map[string]string {
	t.Helper()
	for n, data := range b.configMaps {
		if generatedAs(n, name) {
			return data
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return nil
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	// Strict: an unknown or repeated field is an error, as the API server's
	// strict field validation (kubectl's default) makes it.
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// decodeManifest decodes one YAML document into its Kubernetes type, or a
// CloudNativePG Cluster into the mirror above.
func decodeManifest(raw []byte) (runtime.Object, error) {
	if bytes.Contains(raw, []byte("\n---")) {
		return nil, fmt.Errorf("one object a file, please")
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, err
	}
	if tm.APIVersion == "postgresql.cnpg.io/v1" && tm.Kind == "Cluster" {
		var c cluster
		if err := decodeStrict(raw, &c); err != nil {
			return nil, err
		}
		return &c, nil
	}
	obj, _, err := decoder.Decode(raw, nil, nil)
	return obj, err
}

// decodeStrict is the API server's own JSON reading (case-sensitive field
// names, unknown and repeated fields refused) over YAML.
func decodeStrict(raw []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return fmt.Errorf("%v", strict)
	}
	return nil
}

// DeepCopyObject lets the mirror pass as a runtime.Object next to the
// Kubernetes types; nothing copies it.
func (c *cluster) DeepCopyObject() runtime.Object { cp := *c; return &cp }

var validEnvName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// documentedSecretKeys are the keys of the Secret `care360` as
// docs/deploy.md creates it: the --from-literal=KEY=… of its
// `kubectl create secret generic care360` command.
func documentedSecretKeys(t *testing.T) []string {
	t.Helper()
	doc := string(read(t, filepath.Join("..", "docs", "deploy.md")))
	start := strings.Index(doc, "create secret generic care360 ")
	if start < 0 {
		t.Fatal("docs/deploy.md: no `kubectl create secret generic care360` step")
	}
	// The command runs to its first line that does not end in a backslash.
	cmd := doc[start:]
	lines := strings.SplitAfter(cmd, "\n")
	for i, l := range lines {
		if !strings.HasSuffix(strings.TrimRight(l, "\n"), `\`) {
			cmd = strings.Join(lines[:i+1], "")
			break
		}
	}
	var keys []string
	for _, m := range regexp.MustCompile(`--from-literal=([a-z0-9.-]+)=`).FindAllStringSubmatch(cmd, -1) {
		keys = append(keys, m[1])
	}
	if len(keys) == 0 {
		t.Fatalf("docs/deploy.md: the secret step names no keys: %q", cmd)
	}
	return keys
}

// configJSON is care360.json, as the generated ConfigMap carries it.
func (b *bundle) configJSON(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(b.configMap(t, "care360-config")["care360.json"]), &top); err != nil {
		t.Fatalf("care360.json: %v", err)
	}
	return top
}
