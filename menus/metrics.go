package menus

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	dialogues *prometheus.CounterVec
	invalid   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		dialogues: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "care360_ussd_dialogues_total",
			Help: "Dialogue events: opened, ended, aborted, expired, failed, rate_limited, not_ours, not_subscriber, app_failed; by service code (empty when not known).",
		}, []string{"event", "code"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "care360_ussd_invalid_answers_total",
			Help: "Answers no screen accepted, by screen (malformed: control characters or oversize).",
		}, []string{"screen"}),
	}
	if reg != nil {
		reg.MustRegister(m.dialogues, m.invalid)
	}
	return m
}
