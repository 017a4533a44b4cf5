package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// LedgerConfig serves the billing feed and subscriber imports (usage.go,
// import.go).
type LedgerConfig struct {
	Usage   care360.UsageService
	Imports care360.SubscriberImports
	// Lifecycle takes the CRM's lifecycle events (lifecycle.go); nil
	// answers 503. SIMSwapHold is how long a SIM swap holds value
	// (default 72 h).
	Lifecycle   care360.LifecycleService
	SIMSwapHold time.Duration
}

// ledgerRoutes mounts POST /api/v1/usage, POST /api/v1/subscribers:import
// and GET /api/v1/imports/{id} (an import's progress and report). The
// import route has no slash before its colon, so {msisdn} never takes it.
func (s *Server) ledgerRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/usage", s.postUsage).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/subscribers:import", s.importSubscribers).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/imports/{id}", s.getImport).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/lifecycle", s.postLifecycle).Methods(http.MethodPost)
}

var errNoLedger = care360.Errorf(care360.EUNAVAILABLE, "usage and imports are not configured on this server")

// maxUsageBytes bounds a usage batch: MaxUsageEvents events of about a
// hundred bytes each, with room to spare.
const maxUsageBytes = 32 << 20

// usageItem is one event of a batch. Values stay raw until checked, so that
// a bad value rejects its event rather than the whole batch; a batch that
// is not an array of objects with these fields is a 400.
type usageItem struct {
	MSISDN    json.RawMessage `json:"msisdn"`
	AmountVND json.RawMessage `json:"amount_vnd"`
	At        json.RawMessage `json:"at"`
	ID        json.RawMessage `json:"id"`
}

// usageResultJSON is one event's fate; points only for accepted and
// duplicate events.
type usageResultJSON struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Points  *int64 `json:"points,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

type usageResponse struct {
	Accepted  int               `json:"accepted"`
	Duplicate int               `json:"duplicate"`
	Rejected  int               `json:"rejected"`
	Results   []usageResultJSON `json:"results"`
}

// postUsage is POST /api/v1/usage: a JSON array of billing events
// {"msisdn","amount_vnd","at","id"}. It answers 200 with a result per
// event, in order: accepted (with the points it earns, negative for a
// refund), duplicate (an id seen before: the original points, nothing
// changed) or rejected with a reason. Accepted points reach the ledger when
// the usage is posted, within moments.
func (s *Server) postUsage(w http.ResponseWriter, r *http.Request) {
	if s.ledger == nil || s.ledger.Usage == nil {
		s.writeError(w, r, errNoLedger)
		return
	}
	items, err := decodeUsage(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	results := make([]care360.UsageResult, len(items))
	events := make([]care360.UsageEvent, 0, len(items))
	var at []int // index in items of each event sent on
	for i, it := range items {
		ev, rejected, ok := s.usageEvent(it)
		if !ok {
			results[i] = rejected
			continue
		}
		events, at = append(events, ev), append(at, i)
	}
	got, err := s.ledger.Usage.IngestUsage(r.Context(), events)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for j, res := range got {
		results[at[j]] = res
	}
	out := usageResponse{Results: make([]usageResultJSON, len(results))}
	for i, res := range results {
		o := usageResultJSON{ID: res.ID, Status: string(res.Status), Reason: res.Reason, Message: res.Message}
		switch res.Status {
		case care360.UsageAccepted:
			out.Accepted++
			o.Points = &results[i].Points
		case care360.UsageDuplicate:
			out.Duplicate++
			o.Points = &results[i].Points
		default:
			out.Rejected++
		}
		out.Results[i] = o
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeUsage streams the batch: a JSON array of at most MaxUsageEvents
// objects, strictly (unknown fields and trailing data are errors).
func decodeUsage(w http.ResponseWriter, r *http.Request) ([]usageItem, error) {
	return decodeBatch[usageItem](w, r, care360.MaxUsageEvents, maxUsageBytes, `{"msisdn","amount_vnd","at","id"}`)
}

// decodeBatch streams a JSON array of at most max objects of type T from a
// body of at most maxBytes, strictly (unknown fields and trailing data are
// errors); shape names the fields in the error of a body that is no array.
func decodeBatch[T any](w http.ResponseWriter, r *http.Request, max int, maxBytes int64, shape string) ([]T, error) {
	allowLongBody(r)
	dec := json.NewDecoder(bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, maxBytes), 64<<10))
	dec.DisallowUnknownFields()
	bad := func(prefix string, err error) error {
		var tooBig *http.MaxBytesError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return care360.Errorf(care360.EINVALID, "%severy event must be a JSON object", prefix)
		case errors.As(err, &tooBig):
			return care360.Errorf(care360.EINVALID, "request body is larger than %d MiB", maxBytes>>20)
		case errors.Is(err, io.EOF):
			return care360.Errorf(care360.EINVALID, "%srequest body ends too early: send a JSON array of events", prefix)
		}
		return care360.Errorf(care360.EINVALID, "%s%s", prefix, care360.ErrorMessage(jsonError(err)))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, care360.Errorf(care360.EINVALID, `request body must be a JSON array of events [%s]`, shape)
	}
	var items []T
	for dec.More() {
		if len(items) == max {
			return nil, care360.Errorf(care360.EINVALID, "at most %d events per batch", max)
		}
		var it T
		if err := dec.Decode(&it); err != nil {
			return nil, bad("event "+strconv.Itoa(len(items))+": ", err)
		}
		items = append(items, it)
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, care360.Errorf(care360.EINVALID, "request body must hold a single JSON array, with nothing after it")
	}
	return items, nil
}

// usageEvent checks the syntax of one event's values; the rules that need
// the clock or data (amount bounds, time window, subscriber) are the
// service's.
func (s *Server) usageEvent(it usageItem) (ev care360.UsageEvent, rejected care360.UsageResult, ok bool) {
	id, isText := rawText(it.ID)
	if !isText || id == "" {
		return ev, care360.RejectUsage(id, care360.UsageInvalidID, "id is required: a string (or a whole number)"), false
	}
	raw, isText := rawText(it.MSISDN)
	if !isText || raw == "" {
		return ev, care360.RejectUsage(id, care360.UsageInvalidMSISDN, "msisdn is required"), false
	}
	m, err := s.numbering.Parse(raw)
	if err != nil {
		return ev, care360.RejectUsage(id, care360.UsageInvalidMSISDN, "%s", care360.ErrorMessage(err)), false
	}
	amount, err := strconv.ParseInt(string(it.AmountVND), 10, 64)
	if err != nil {
		return ev, care360.RejectUsage(id, care360.UsageInvalidAmount, "amount_vnd must be a whole number of VND (negative for a refund)"), false
	}
	var when string
	if len(it.At) == 0 || unquote(it.At, &when) != nil {
		return ev, care360.RejectUsage(id, care360.UsageInvalidTime, "at is required: an RFC 3339 time string"), false
	}
	t, err := time.Parse(time.RFC3339Nano, when)
	if err != nil {
		return ev, care360.RejectUsage(id, care360.UsageInvalidTime, "at must be an RFC 3339 time with a zone, e.g. 2026-11-25T10:00:00+07:00"), false
	}
	return care360.UsageEvent{ID: id, MSISDN: m, AmountVND: amount, At: t}, rejected, true
}

// rawText reads a JSON string, or a whole number written bare (billing ids
// and MSISDNs are often numbers), as text; ok is false for anything else.
func rawText(raw json.RawMessage) (s string, ok bool) {
	if len(raw) == 0 {
		return "", true
	}
	if raw[0] == '"' {
		return s, unquote(raw, &s) == nil
	}
	if _, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
		return string(raw), true
	}
	return "", false
}

// unquote reads a JSON value into s as json.Unmarshal does. A string
// without escapes (every billing id, number and time a feed sends) is its
// bytes between the quotes, which the decoder has already checked:
// json.Unmarshal's reflection for each of an event's three strings was a
// sixth of the gateway's time for a batch.
func unquote(raw json.RawMessage, s *string) error {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		if body := raw[1 : n-1]; bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			*s = string(body)
			return nil
		}
	}
	return json.Unmarshal(raw, s)
}
