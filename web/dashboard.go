package web

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/care360/care360"
)

// DashboardBind is one SMPP bind as the operations dashboard shows it.
type DashboardBind struct {
	Addr     string    `json:"addr"`
	SystemID string    `json:"system_id"`
	Role     string    `json:"role"`
	Type     string    `json:"bind_type"`
	Up       bool      `json:"up"`
	Since    time.Time `json:"since"`
}

type dashboardBody struct {
	At          time.Time        `json:"at"`
	Binds       []DashboardBind  `json:"binds"`
	DeadLetters map[string]int64 `json:"dead_letters"`
	USSD        *dashboardUSSD   `json:"ussd,omitempty"`
	SMS         *dashboardSMS    `json:"sms,omitempty"`
	Jobs        []dashboardJob   `json:"jobs,omitempty"`
	LastHour    *dashboardHour   `json:"last_hour,omitempty"`
}

type dashboardUSSD struct {
	StepsPerSecond   float64 `json:"steps_per_second"`
	OpenDialogues    int64   `json:"open_dialogues"`
	DialsLastHour    int64   `json:"dials_last_hour"`
	StepsLastHour    int64   `json:"steps_last_hour"`
	FailuresLastHour int64   `json:"failures_last_hour"`
}

// dashboardSMS: queued, held and sending are now; submitted, delivered and
// failed are the last hour's outcomes, and the delivery rate theirs.
type dashboardSMS struct {
	Queued       int64    `json:"queued"`
	Held         int64    `json:"held"`
	Sending      int64    `json:"sending"`
	Submitted    int64    `json:"submitted"`
	Delivered    int64    `json:"delivered"`
	Failed       int64    `json:"failed"`
	DeliveryRate *float64 `json:"delivery_rate"` // null: nothing ended in the last hour
}

type dashboardJob struct {
	Job        string    `json:"job"`
	Instance   string    `json:"instance"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
}

// dashboardHour is the last hour a minute at a time, oldest first; the
// last minute is the one under way.
type dashboardHour struct {
	Minutes      []time.Time `json:"minutes"`
	USSDSteps    []int64     `json:"ussd_steps"`
	SMSSubmitted []int64     `json:"sms_submitted"`
	SMSDelivered []int64     `json:"sms_delivered"`
	SMSFailed    []int64     `json:"sms_failed"`
}

const (
	// dashboardFresh is how long one reading serves every caller: a wall
	// of screens polling costs the database one reading per period.
	dashboardFresh = 2 * time.Second
	// rateWindow is what the current USSD rate averages over, ending
	// rateLag ago: instances add their counts every 5 s, so a slot is
	// complete in the database 5 s after it ends.
	rateWindow = 30 * time.Second
	rateLag    = care360.SlotLength + 5*time.Second
)

type dashboardCache struct {
	mu   sync.Mutex
	at   time.Time
	body []byte
}

// getDashboard answers GET /api/v1/dashboard: what a wall screen in the
// operator's NOC shows, read-only and cheap enough to poll every few
// seconds from many screens (one reading serves them all for 2 s).
func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	s.dashboard.mu.Lock()
	defer s.dashboard.mu.Unlock()
	if now := time.Now(); s.dashboard.body == nil || now.Sub(s.dashboard.at) >= dashboardFresh {
		body, err := s.readDashboard(r, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		b, err := json.Marshal(body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.dashboard.at, s.dashboard.body = now, b
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(s.dashboard.body)
}

func (s *Server) readDashboard(r *http.Request, now time.Time) (*dashboardBody, error) {
	body := &dashboardBody{At: now.UTC(), Binds: []DashboardBind{}, DeadLetters: map[string]int64{}}
	if s.admin.Binds != nil {
		body.Binds = append(body.Binds, s.admin.Binds()...)
	}
	if s.admin.DeadLetters != nil {
		counts, err := s.admin.DeadLetters.DeadLetterCounts(r.Context())
		if err != nil {
			return nil, err
		}
		for _, k := range care360.DeadLetterKinds {
			body.DeadLetters[k] = counts[k]
		}
	}
	if s.admin.Operations == nil {
		return body, nil
	}
	idle := s.admin.DialogueIdle
	if idle <= 0 {
		idle = 60 * time.Second
	}
	first := now.Truncate(time.Minute).Add(-59 * time.Minute)
	ops, err := s.admin.Operations.Operations(r.Context(), first, now.Add(-idle))
	if err != nil {
		return nil, err
	}
	body.USSD = &dashboardUSSD{OpenDialogues: ops.OpenDialogues}
	body.SMS = &dashboardSMS{Queued: ops.Queue.Queued, Held: ops.Queue.Held, Sending: ops.Queue.Sending}
	hour := &dashboardHour{}
	for i := range 60 {
		hour.Minutes = append(hour.Minutes, first.Add(time.Duration(i)*time.Minute).UTC())
	}
	hour.USSDSteps, hour.SMSSubmitted = make([]int64, 60), make([]int64, 60)
	hour.SMSDelivered, hour.SMSFailed = make([]int64, 60), make([]int64, 60)
	var recent int64
	rateFrom, rateTo := now.Add(-rateLag-rateWindow), now.Add(-rateLag)
	for _, sl := range ops.Slots {
		i := int(sl.At.Sub(first) / time.Minute)
		if i < 0 || i >= 60 {
			continue
		}
		hour.USSDSteps[i] += sl.USSDSteps
		hour.SMSSubmitted[i] += sl.SMSSubmitted
		hour.SMSDelivered[i] += sl.SMSDelivered
		hour.SMSFailed[i] += sl.SMSFailed
		body.USSD.DialsLastHour += sl.USSDDials
		body.USSD.StepsLastHour += sl.USSDSteps
		body.USSD.FailuresLastHour += sl.USSDFailures
		body.SMS.Submitted += sl.SMSSubmitted
		body.SMS.Delivered += sl.SMSDelivered
		body.SMS.Failed += sl.SMSFailed
		if !sl.At.Before(rateFrom) && sl.At.Before(rateTo) {
			recent += sl.USSDSteps
		}
	}
	body.USSD.StepsPerSecond = float64(recent) / rateWindow.Seconds()
	if ended := body.SMS.Delivered + body.SMS.Failed; ended > 0 {
		rate := float64(body.SMS.Delivered) / float64(ended)
		body.SMS.DeliveryRate = &rate
	}
	body.LastHour = hour
	body.Jobs = []dashboardJob{}
	for _, j := range ops.Jobs {
		body.Jobs = append(body.Jobs, dashboardJob{Job: j.Job, Instance: j.Instance, StartedAt: j.StartedAt.UTC(),
			FinishedAt: j.FinishedAt.UTC(), OK: j.OK, Error: j.Error})
	}
	return body, nil
}
