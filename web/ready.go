package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/care360/care360"
)

// ReadyCheck is one dependency that /readyz checks, such as Postgres or an
// SMPP bind. Check returns nil when the dependency is usable.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// readyTimeout bounds a whole /readyz answer: orchestrators probe with short
// timeouts of their own, and a hung dependency is as good as a failed one.
const readyTimeout = 3 * time.Second

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Error  *errorDetail      `json:"error,omitempty"`
}

// readyz runs every check concurrently and answers 503 naming those that
// failed. The real errors go to the log only: they may hold addresses or
// credentials, and the probe is served without a token.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()

	// Until all are in or the deadline passes; a check that ignores its
	// context cannot hold the probe, and its late result lands in the
	// buffered channel and is dropped.
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(s.ready))
	for i, c := range s.ready {
		go func() { results <- result{i, runCheck(ctx, c)} }()
	}
	errs := make([]error, len(s.ready))
	for i := range errs {
		errs[i] = context.DeadlineExceeded // until its result arrives
	}
collect:
	for range s.ready {
		select {
		case res := <-results:
			errs[res.i] = res.err
		case <-ctx.Done():
			break collect
		}
	}

	body := readyBody{Status: "ready", Checks: make(map[string]string, len(s.ready))}
	var failed []string
	for i, c := range s.ready {
		if errs[i] == nil {
			body.Checks[c.Name] = "ok"
			continue
		}
		state := "failed"
		if errors.Is(errs[i], context.DeadlineExceeded) {
			state = "timeout"
		}
		body.Checks[c.Name] = state
		failed = append(failed, c.Name)
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed",
			slog.String("check", c.Name), slog.Any("error", errs[i]))
	}
	if len(failed) == 0 {
		writeJSON(w, http.StatusOK, body)
		return
	}
	sort.Strings(failed)
	body.Status = "unavailable"
	body.Error = &errorDetail{Code: care360.EUNAVAILABLE, Message: "not ready: " + strings.Join(failed, ", ")}
	writeJSON(w, http.StatusServiceUnavailable, body)
}

// runCheck runs one check, turning a panic or a missing function into a
// failure rather than a crash of the probe.
func runCheck(ctx context.Context, c ReadyCheck) (err error) {
	if c.Check == nil {
		return errors.New("no check function")
	}
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("check panicked")
		}
	}()
	return c.Check(ctx)
}
