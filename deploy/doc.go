// Package deploy holds the Kubernetes manifests of a Care360 Gateway
// deployment (several `care360 serve` replicas on one CloudNativePG
// cluster) and the test that decodes them strictly. It is a module of its
// own so that the gateway's go.mod never carries the Kubernetes API.
package deploy
