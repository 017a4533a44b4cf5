package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are the gateway's Prometheus series.
type metrics struct {
	bound        *prometheus.GaugeVec
	links        *prometheus.GaugeVec // per bind, role and link kind
	bindFailures *prometheus.CounterVec
	pdus         *prometheus.CounterVec
	steps        *prometheus.HistogramVec
	submitErrors prometheus.Counter
	throttled    prometheus.Counter
	shed         prometheus.Counter // work refused because its worker queue stayed full
	late         prometheus.Counter // steps answered "service unavailable" unrun, picked up too late to finish

	// SMS (outbox.go, dlr.go, sms.go)
	smsOutcomes  *prometheus.CounterVec // per message: submitted, retry, failed, released
	smsStatus    *prometheus.CounterVec // non-zero submit_sm_resp statuses, by code
	smsParts     prometheus.Histogram
	smsTruncated prometheus.Counter
	smsReclaimed prometheus.Counter
	smsFenced    prometheus.Counter
	outboxDepth  prometheus.Gauge
	receipts     *prometheus.CounterVec // matched, unmatched, unparsable, failed
	dlrLatency   prometheus.Histogram
	writes       *prometheus.HistogramVec // outcomes or receipts a transaction writes, by writer

	pushes *prometheus.CounterVec // network-initiated USSD sent or ended unsent (push.go)
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		bound: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "care360_smpp_bound", Help: "1 while the bind (every link of it) to this SMSC with this system_id is up, by role.",
		}, []string{"smsc", "system_id", "role"}),
		links: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "care360_smpp_link_up",
			Help: "1 while this link of a bind is up, by SMSC address, system_id, role (ussd, sms, ussd+sms) and link (transceiver, transmitter, receiver).",
		}, []string{"smsc", "system_id", "role", "link"}),
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
	m.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "care360_ussd_steps_shed_total", Help: "USSD steps and MO SMS refused with ESME_RTHROTTLED because their worker queue stayed full.",
	})
	m.late = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "care360_ussd_steps_late_total",
		Help: "USSD steps answered \"service unavailable\" without running, because their worker picked them up with too little of the step budget left to finish them.",
	})
	m.smsOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "care360_sms_messages_total", Help: "Outbox messages handled by this sender, by outcome (submitted, retry, failed, released).",
	}, []string{"outcome"})
	m.smsStatus = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "care360_sms_submit_errors_total", Help: "submit_sm answered with a non-zero status, by status.",
	}, []string{"status"})
	m.smsParts = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "care360_sms_parts", Help: "Concatenated parts per submitted message.", Buckets: []float64{1, 2, 3, 4, 5, 6, 8},
	})
	m.smsTruncated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "care360_sms_truncated_total", Help: "Messages cut to the maximum number of parts.",
	})
	m.smsReclaimed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "care360_sms_reclaimed_total", Help: "Messages claimed after another sender's lease lapsed.",
	})
	m.smsFenced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "care360_sms_fenced_total", Help: "Outcomes not recorded because the message's lease had passed to a newer claim.",
	})
	m.outboxDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "care360_sms_outbox_depth", Help: "Outbox messages due and waiting to be claimed.",
	})
	m.receipts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "care360_sms_receipts_total", Help: "Delivery receipts received, by outcome.",
	}, []string{"outcome"})
	m.dlrLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "care360_sms_delivery_seconds", Help: "From submit to delivery receipt.",
		Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600},
	})
	m.writes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "care360_sms_write_batch", Help: "Outbox outcomes (writer settle) or delivery receipts (writer receipts) written to Postgres in one transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
	}, []string{"writer"})
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "care360_ussd_pushes_total", Help: "Network-initiated USSD handled by this instance's pusher: sent, or ended unsent (refused, failed).",
	}, []string{"outcome"})
	if reg != nil {
		reg.MustRegister(m.bound, m.links, m.bindFailures, m.pdus, m.steps, m.submitErrors, m.throttled, m.shed, m.late,
			m.smsOutcomes, m.smsStatus, m.smsParts, m.smsTruncated, m.smsReclaimed, m.smsFenced, m.outboxDepth, m.receipts, m.dlrLatency,
			m.writes, m.pushes)
	}
	return m
}

// linkUp records a link of b going up or down, and the bind's own state:
// up while it can both send and receive.
func (m *metrics) linkUp(b *bind, kind linkKind, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.links.WithLabelValues(b.cfg.Addr, b.cfg.SystemID, b.cfg.Role.String(), kind.String()).Set(v)
	bound := 0.0
	if b.up() {
		bound = 1
	}
	m.bound.WithLabelValues(b.cfg.Addr, b.cfg.SystemID, b.cfg.Role.String()).Set(bound)
}
