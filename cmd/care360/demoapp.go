package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/care360/care360"
	"github.com/care360/care360/menus"
)

// The partner application `dev` serves itself, and the service codes it
// adds (PRODUCT.md §3.7), so that a second code and an external
// application can be tried on a laptop.
const (
	demoAppName  = "partner-quiz"
	demoAppCode  = "*5050#"
	demoDrawCode = "*1090#"
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

// startDemoApp serves the demo partner application on loopback; its URL
// is what the partner-quiz endpoint names.
func startDemoApp(log *slog.Logger) (url string, srv *http.Server, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo partner application: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ussd", quizApp)
	srv = newHTTPServer(mux, Config{})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo partner application stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/ussd", srv, nil
}

// addDemoServices routes the demo codes, unless the configuration uses
// them already: *1090# to the draws menu, *5050# to the demo partner
// application at url, called through an endpoint like any partner's.
func addDemoServices(c *Config, url string) {
	used := func(code string) bool {
		return slices.ContainsFunc(c.Services, func(s menus.Service) bool { return s.Code == code })
	}
	if !used(demoDrawCode) {
		c.Services = append(c.Services, menus.Service{Code: demoDrawCode, Menu: "draws"})
	}
	if _, taken := c.Endpoints[demoAppName]; taken || used(demoAppCode) {
		return
	}
	if c.Endpoints == nil {
		c.Endpoints = care360.Endpoints{}
	}
	c.Endpoints[demoAppName] = care360.Endpoint{Name: demoAppName, URL: url, Timeout: care360.DefaultEndpointTimeout}
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
