package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are the gateway's Prometheus series.
type metrics struct {
	bound        *prometheus.GaugeVec
	bindFailures *prometheus.CounterVec
	pdus         *prometheus.CounterVec
	steps        *prometheus.HistogramVec
	submitErrors prometheus.Counter
	throttled    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		bound: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "care360_smpp_bound", Help: "1 while the bind to this SMSC is up.",
		}, []string{"smsc"}),
		bindFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "care360_smpp_bind_failures_total", Help: "Failed bind attempts.",
		}, []string{"smsc"}),
		pdus: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "care360_smpp_received_total", Help: "Requests received from SMSCs, by command and outcome.",
		}, []string{"command", "outcome"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "care360_ussd_step_seconds",
			Help:    "From deliver_sm received to the screen's submit_sm answered, by step kind.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}, []string{"kind"}),
		submitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "care360_ussd_screen_failures_total", Help: "USSD screens that could not be submitted.",
		}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "care360_smpp_throttled_total", Help: "submit_sm answered with ESME_RTHROTTLED or ESME_RMSGQFUL.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.bound, m.bindFailures, m.pdus, m.steps, m.submitErrors, m.throttled)
	}
	return m
}
