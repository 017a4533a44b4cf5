package web

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

// getDeadLetters answers GET /api/v1/dead-letters?kind=&limit=&before=:
// what the queues set aside because it kept failing, with the reasons,
// newest first (PRODUCT.md §8). Admins only: the payloads hold numbers.
func (s *Server) getDeadLetters(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	if s.admin.DeadLetters == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "dead letters are not configured on this server"))
		return
	}
	p, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ask := p.ask()
	list, err := s.admin.DeadLetters.DeadLetters(r.Context(), care360.DeadLetterFilter{
		Kind: r.URL.Query().Get("kind"), Before: ask.Before, Limit: ask.Limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next := cutPage(p, list, func(d care360.DeadLetter) int64 { return d.ID })
	if list == nil {
		list = []care360.DeadLetter{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": list, "next": next})
}

// deadLetterCollector serves care360_dead_letters_total{kind} from the
// database at each scrape, so that every instance reports the same figure
// whichever of them set the rows aside.
type deadLetterCollector struct{ svc care360.DeadLetterService }

var deadLetterDesc = prometheus.NewDesc("care360_dead_letters_total",
	"Queue rows set aside because they kept failing, by queue.", []string{"kind"}, nil)

func (c deadLetterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deadLetterDesc }

func (c deadLetterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.svc.DeadLetterCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(deadLetterDesc, err)
		return
	}
	for _, k := range care360.DeadLetterKinds {
		if _, ok := counts[k]; !ok {
			counts[k] = 0 // every kind shows, at zero too
		}
	}
	for kind, n := range counts {
		ch <- prometheus.MustNewConstMetric(deadLetterDesc, prometheus.CounterValue, float64(n), kind)
	}
}
