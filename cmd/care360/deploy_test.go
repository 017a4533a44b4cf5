package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/care360/care360/gateway"
)

// TestDeployConfigLoads runs the Kubernetes deployment's configuration
// (deploy/care360.env and deploy/care360.json, which kustomize turns into
// its ConfigMaps) through the real loader, with values of the shape
// docs/deploy.md's Secret gives the rest: serve would start with it, and
// reads every variable it sets. deploy/'s own tests check the manifests.
func TestDeployConfigLoads(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "deploy")
	raw, err := os.ReadFile(filepath.Join(dir, "care360.env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	// The ConfigMap mounts care360.json where CARE360_CONFIG says; here it
	// is read where it is kept.
	if filepath.Base(env["CARE360_CONFIG"]) != "care360.json" {
		t.Fatalf("CARE360_CONFIG %q: want the mounted care360.json", env["CARE360_CONFIG"])
	}
	env["CARE360_CONFIG"] = filepath.Join(dir, "care360.json")
	token := make([]byte, 32)
	rand.Read(token)
	secret := map[string]string{
		"CARE360_ADMIN_TOKEN":        base64.StdEncoding.EncodeToString(token), // openssl rand -base64 32
		"CARE360_SMPP_USSD_PASSWORD": "ussd-placeholder",
		"CARE360_SMPP_SMS_PASSWORD":  "sms-placeholder",
	}
	read := map[string]bool{}
	c, err := LoadConfig(func(k string) string {
		read[k] = true
		if v, ok := secret[k]; ok {
			return v
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for k := range env {
		if !read[k] {
			t.Errorf("deploy/care360.env sets %s, which the loader never reads", k)
		}
	}
	// One bind to the USSD centre for screens, one to the SMSC for SMS,
	// each with its password from the Secret.
	if len(c.Binds) != 2 {
		t.Fatalf("binds: want one to the USSD centre and one to the SMSC, got %d", len(c.Binds))
	}
	if b := c.Binds[0]; b.Role != gateway.RoleUSSD || b.Password != secret["CARE360_SMPP_USSD_PASSWORD"] {
		t.Errorf("USSD centre's bind: role %s, password from the Secret %v", b.Role, b.Password == secret["CARE360_SMPP_USSD_PASSWORD"])
	}
	if b := c.Binds[1]; b.Role != gateway.RoleSMS || b.Password != secret["CARE360_SMPP_SMS_PASSWORD"] {
		t.Errorf("SMSC's bind: role %s, password from the Secret %v", b.Role, b.Password == secret["CARE360_SMPP_SMS_PASSWORD"])
	}
	// deploy/'s TestGracePeriodCoversShutdownBudgets reads the budgets
	// from the file as the loader does; all four are stated there.
	if c.Stop.Steps == 0 || c.Stop.HandBack == 0 || c.Stop.Unbind == 0 || c.StopHTTP == 0 {
		t.Errorf("shutdown: state every budget in deploy/care360.json, got %+v, http %s", c.Stop, c.StopHTTP)
	}
	if c.USSDConns == 0 || c.APIConns == 0 {
		t.Errorf("db_conns: the deployment sizes max_connections from them, so it states them")
	}
}
