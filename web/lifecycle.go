package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/care360/care360"
)

// maxLifecycleBytes bounds a lifecycle batch: MaxLifecycleEvents events of
// about 150 bytes each, with room to spare.
const maxLifecycleBytes = 4 << 20

type lifecycleItem struct {
	ID        json.RawMessage `json:"id"`
	MSISDN    json.RawMessage `json:"msisdn"`
	Event     string          `json:"event"`
	At        string          `json:"at"`
	NewMSISDN json.RawMessage `json:"new_msisdn"`
}

type lifecycleResultJSON struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	Message   string     `json:"message,omitempty"`
	HoldUntil *time.Time `json:"hold_until,omitempty"`
}

type lifecycleResponse struct {
	Applied   int                   `json:"applied"`
	Duplicate int                   `json:"duplicate"`
	Rejected  int                   `json:"rejected"`
	Results   []lifecycleResultJSON `json:"results"`
}

// lifecycleSkew is how far in the future an event's at may be (clocks
// differ); an event from further ahead is a mistake.
const lifecycleSkew = 10 * time.Minute

// postLifecycle is POST /api/v1/lifecycle (PRODUCT.md §7): a JSON array of
// {"id","msisdn","event","at","new_msisdn"} from the operator's CRM. It
// answers 200 with a result per event, in order: applied, duplicate (the id
// was applied before) or rejected with a reason. sim_swap starts the
// member's hold; churn and port_out close the membership, msisdn_change
// moves the member to new_msisdn.
func (s *Server) postLifecycle(w http.ResponseWriter, r *http.Request) {
	if s.ledger == nil || s.ledger.Lifecycle == nil {
		s.writeError(w, r, care360.Errorf(care360.EUNAVAILABLE, "lifecycle events are not configured on this server"))
		return
	}
	items, err := decodeBatch[lifecycleItem](w, r, care360.MaxLifecycleEvents, maxLifecycleBytes, `{"id","msisdn","event","at","new_msisdn"}`)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	results := make([]care360.LifecycleResult, len(items))
	hold := s.ledger.SIMSwapHold
	if hold <= 0 {
		hold = care360.DefaultSIMSwapHold
	}
	// SIM swaps are applied together, set-based, and so are closings
	// (churn, port_out); a number change is a transaction of its own.
	// Events take effect in the order of the batch (a later one may be
	// about a number an earlier one freed or took): a run of one sort is
	// applied before an event of another.
	var (
		swaps, closings     []care360.LifecycleEvent
		swapsAt, closingsAt []int
	)
	flush := func() error {
		if len(swaps) > 0 {
			got, err := s.ledger.Lifecycle.SIMSwaps(r.Context(), swaps, hold)
			if err != nil {
				return err
			}
			for j, res := range got {
				results[swapsAt[j]] = res
			}
		}
		if len(closings) > 0 {
			got, err := s.ledger.Lifecycle.Closings(r.Context(), closings)
			if err != nil {
				return err
			}
			for j, res := range got {
				results[closingsAt[j]] = res
			}
		}
		swaps, swapsAt, closings, closingsAt = swaps[:0], swapsAt[:0], closings[:0], closingsAt[:0]
		return nil
	}
	now := time.Now()
	for i, it := range items {
		ev, res, ok := s.lifecycleEvent(it, now)
		if !ok {
			results[i] = res
			continue
		}
		switch ev.Event {
		case care360.EventSIMSwap:
			if len(closings) > 0 {
				if err := flush(); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			swaps, swapsAt = append(swaps, ev), append(swapsAt, i)
		case care360.EventChurn, care360.EventPortOut:
			if len(swaps) > 0 {
				if err := flush(); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			closings, closingsAt = append(closings, ev), append(closingsAt, i)
		default:
			if err := flush(); err != nil {
				s.writeError(w, r, err)
				return
			}
			if results[i], err = s.ledger.Lifecycle.Membership(r.Context(), ev); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	if err := flush(); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := lifecycleResponse{Results: make([]lifecycleResultJSON, len(results))}
	for i, res := range results {
		o := lifecycleResultJSON{ID: res.ID, Status: res.Status, Reason: res.Reason, Message: res.Message}
		if !res.HoldUntil.IsZero() {
			u := res.HoldUntil.UTC()
			o.HoldUntil = &u
		}
		switch res.Status {
		case care360.LifecycleApplied:
			out.Applied++
		case care360.LifecycleDuplicate:
			out.Duplicate++
		default:
			out.Rejected++
		}
		out.Results[i] = o
	}
	writeJSON(w, http.StatusOK, out)
}

// lifecycleEvent checks one event's values.
func (s *Server) lifecycleEvent(it lifecycleItem, now time.Time) (ev care360.LifecycleEvent, res care360.LifecycleResult, ok bool) {
	reject := func(id, format string, args ...any) (care360.LifecycleEvent, care360.LifecycleResult, bool) {
		return ev, care360.LifecycleResult{ID: id, Status: care360.LifecycleRejected, Reason: care360.LifecycleInvalid,
			Message: care360.Errorf(care360.EINVALID, format, args...).Message}, false
	}
	id, isText := rawText(it.ID)
	if !isText || id == "" || len(id) > 200 {
		return reject(id, "id is required: a string (or a whole number) of at most 200 bytes")
	}
	raw, isText := rawText(it.MSISDN)
	if !isText || raw == "" {
		return reject(id, "msisdn is required")
	}
	m, err := s.numbering.Parse(raw)
	if err != nil {
		return reject(id, "%s", care360.ErrorMessage(err))
	}
	switch it.Event {
	case care360.EventSIMSwap, care360.EventChurn, care360.EventPortOut, care360.EventMSISDNChange:
	default:
		return reject(id, "event must be churn, port_out, msisdn_change or sim_swap, got %q", it.Event)
	}
	t, err := time.Parse(time.RFC3339Nano, it.At)
	if err != nil {
		return reject(id, "at must be an RFC 3339 time with a zone, e.g. 2026-11-25T10:00:00+07:00")
	}
	if t.After(now.Add(lifecycleSkew)) {
		return reject(id, "at is in the future")
	}
	ev = care360.LifecycleEvent{ID: id, MSISDN: m, Event: it.Event, At: t}
	if it.Event == care360.EventMSISDNChange {
		raw, _ := rawText(it.NewMSISDN)
		if ev.NewMSISDN, err = s.numbering.Parse(raw); err != nil {
			return reject(id, "new_msisdn: %s", care360.ErrorMessage(err))
		}
		if ev.NewMSISDN == ev.MSISDN {
			return reject(id, "new_msisdn is the member's number already")
		}
	}
	return ev, res, true
}
