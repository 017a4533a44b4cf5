package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/care360/care360"
	"github.com/care360/care360/menus"
)

// The outside parties `dev` plays itself on loopback, over real HTTP, so
// that what needs them can be tried on a laptop: a partner application
// behind a second service code (PRODUCT.md §3.7), and the operator's
// provisioning interface that credits airtime and data gifts (§4.3).
const (
	demoAppName          = "partner-quiz"
	demoAppCode          = "*5050#"
	demoDrawCode         = "*1090#"
	demoProvisioningName = "demo-provisioning"
)

// quizQuestions are the demo partner's quiz: a question and the right
// choice.
var quizQuestions = []struct{ text, right string }{
	{"Quiz doi tac (1/3)\nMobiFone thanh lap nam nao?\n1. 1993\n2. 2003", "1"},
	{"Quiz doi tac (2/3)\nCare360 tra loi ma USSD nao?\n1. *090#\n2. *101#", "1"},
	{"Quiz doi tac (3/3)\nHang cao nhat cua Ket noi dai lau?\n1. Vang\n2. Kim cuong", "2"},
}

// quizApp is the demo partner application: it speaks the Africa's
// Talking contract (PRODUCT.md §3.4) as any partner would, keeping no
// state: the answers so far come in text, joined with '*'.
func quizApp(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("sessionId") == "" {
		http.Error(w, "POST sessionId, serviceCode, phoneNumber, text", http.StatusBadRequest)
		return
	}
	var answers []string
	if t := r.PostForm.Get("text"); t != "" {
		answers = strings.Split(t, "*")
	}
	// An answer other than 1 or 2 asks the same question again.
	valid := slices.DeleteFunc(slices.Clone(answers), func(a string) bool { return a != "1" && a != "2" })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(valid) < len(quizQuestions) {
		again := ""
		if n := len(answers); n > 0 && answers[n-1] != "1" && answers[n-1] != "2" {
			again = "Chon 1 hoac 2.\n"
		}
		fmt.Fprint(w, "CON "+again+quizQuestions[len(valid)].text)
		return
	}
	score := 0
	for i, q := range quizQuestions {
		if valid[i] == q.right {
			score++
		}
	}
	fmt.Fprintf(w, "END Ban tra loi dung %d/%d cau. Cam on ban da tham gia!", score, len(quizQuestions))
}

// demoProvisioning is the operator's provisioning interface as dev plays
// it: it checks a request as the real one would (PRODUCT.md §4.3), credits
// nothing, and answers 200; a reference it has seen is answered as before,
// credited once, as the contract asks of the operator.
type demoProvisioning struct {
	log  *slog.Logger
	mu   sync.Mutex
	seen map[string]bool
}

// demoProvisioningMemory bounds the references remembered; past it they
// are all forgotten (a retry comes within the hour, not thousands of claims
// later).
const demoProvisioningMemory = 10_000

func (p *demoProvisioning) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MSISDN    string `json:"msisdn"`
		Kind      string `json:"kind"`
		Value     int64  `json:"value"`
		Reference string `json:"reference"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "want JSON {msisdn, kind, value, reference}: "+err.Error(), http.StatusBadRequest)
		return
	}
	msisdn, err := care360.ParseMSISDN(req.MSISDN)
	switch {
	case err != nil:
		http.Error(w, "msisdn: "+err.Error(), http.StatusBadRequest)
		return
	case req.Kind != string(care360.GiftAirtime) && req.Kind != string(care360.GiftData):
		http.Error(w, "kind: want airtime or data", http.StatusBadRequest)
		return
	case req.Value <= 0:
		http.Error(w, "value: want a positive amount", http.StatusBadRequest)
		return
	case req.Reference == "" || r.Header.Get("Idempotency-Key") != req.Reference:
		http.Error(w, "reference: want one, repeated as the Idempotency-Key header", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	replay := p.seen[req.Reference]
	if !replay {
		if len(p.seen) >= demoProvisioningMemory {
			clear(p.seen)
		}
		p.seen[req.Reference] = true
	}
	p.mu.Unlock()
	unit := "VND"
	if req.Kind == string(care360.GiftData) {
		unit = "MB"
	}
	p.log.Info("demo provisioning: credited", "to", care360.MaskMSISDN(string(msisdn)), "kind", req.Kind,
		"value", fmt.Sprintf("%d %s", req.Value, unit), "reference", req.Reference, "replay", replay)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"reference": req.Reference, "credited": true, "replay": replay})
}

// startDemoApp serves the demo partner application (/ussd) and the demo
// provisioning interface (/provision) on loopback; it returns their base
// URL, which the endpoints addDemoServices configures name.
func startDemoApp(log *slog.Logger) (base string, srv *http.Server, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo partner application: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ussd", quizApp)
	mux.Handle("POST /provision", &demoProvisioning{log: log, seen: map[string]bool{}})
	srv = newHTTPServer(mux, Config{})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo partner application stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), srv, nil
}

// addDemoServices routes the demo codes and configures the demo endpoints
// at base, unless the configuration uses those codes or names already:
// *1090# to the draws menu, *5050# to the demo partner application, called
// through an endpoint like any partner's, and the demo airtime and data
// gifts' provisioning endpoint.
func addDemoServices(c *Config, base string) {
	used := func(code string) bool {
		return slices.ContainsFunc(c.Services, func(s menus.Service) bool { return s.Code == code })
	}
	if !used(demoDrawCode) {
		c.Services = append(c.Services, menus.Service{Code: demoDrawCode, Menu: "draws"})
	}
	if c.Endpoints == nil {
		c.Endpoints = care360.Endpoints{}
	}
	if _, taken := c.Endpoints[demoProvisioningName]; !taken {
		c.Endpoints[demoProvisioningName] = care360.Endpoint{Name: demoProvisioningName, URL: base + "/provision", Timeout: care360.DefaultEndpointTimeout}
	}
	if _, taken := c.Endpoints[demoAppName]; taken || used(demoAppCode) {
		return
	}
	c.Endpoints[demoAppName] = care360.Endpoint{Name: demoAppName, URL: base + "/ussd", Timeout: care360.DefaultEndpointTimeout}
	c.Services = append(c.Services, menus.Service{Code: demoAppCode, App: demoAppName})
}

// serviceCodes lists the codes answered, for people.
func serviceCodes(services []menus.Service) string {
	codes := make([]string, len(services))
	for i, s := range services {
		codes[i] = s.Code
	}
	return strings.Join(codes, ", ")
}
