package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/care360/care360"
)

// The audit log records every change made through /api/, and every read of
// a member's personal data (auditRead). Changes come in two ways:
//
//   - A handler that knows its object calls s.audit(r, action, target,
//     before, after) once the change is made, or s.noChange(r) when the
//     request changed nothing (an idempotent replay).
//   - Otherwise auditChanges records, for every successful POST, PUT, PATCH
//     or DELETE, the route as the action, the path as the target and the
//     JSON body (or its size) as "after". So a new route is audited from its
//     first day, and adopting s.audit only makes its entries more precise.
//
// Entries are written before the response starts, so a client that got its
// answer finds the entry in GET /api/v1/audit. They are not in the change's
// own transaction (the services own those): if the write fails, the change
// stands and the failure is logged as an error.

// auditState travels in a mutating request's context from auditChanges to
// the handler.
type auditState struct {
	handled bool          // the handler recorded the change or said there was none
	body    *bytes.Buffer // the first maxAuditBody bytes of the request body
	read    int64         // how much of the body the handler read
}

type auditKey struct{}

// maxAuditBody is how much of a request body a generic entry keeps; larger
// bodies (CSV imports) are recorded by size.
const maxAuditBody = 16 << 10

// auditChanges is the middleware half of the audit log (see above).
func (s *Server) auditChanges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.admin == nil || s.admin.Audit == nil || !isAPI(r) || !mutating(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		st := &auditState{body: &bytes.Buffer{}}
		r = r.WithContext(context.WithValue(r.Context(), auditKey{}, st))
		if r.Body != nil {
			r.Body = &teeBody{ReadCloser: r.Body, st: st}
		}
		aw := &auditWriter{ResponseWriter: w, s: s, r: r, st: st}
		next.ServeHTTP(aw, r)
		if !aw.started {
			// A handler that writes nothing answers 200 when it returns,
			// which is still before anything reaches the client.
			aw.WriteHeader(http.StatusOK)
		}
	})
}

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// audit records a change this request made to target, with the object
// before and after (nil: it did not exist, or is gone). Call it after the
// change and before writing the response.
func (s *Server) audit(r *http.Request, action, target string, before, after any) {
	if st, ok := r.Context().Value(auditKey{}).(*auditState); ok {
		st.handled = true
	}
	if s.admin == nil || s.admin.Audit == nil {
		return
	}
	actor, _ := actorOf(r)
	e := &care360.AuditEntry{Actor: actor, Action: action, Target: target, Before: auditJSON(before), After: auditJSON(after)}
	s.recordAudit(r, e)
}

// auditRead records that this request read the personal data of the member
// at msisdn (PRODUCT.md §7): who, what, when. The entry says how many items
// were shown, never the data itself. Call it once the data is read and
// before writing the response; a read that found nothing is not recorded.
func (s *Server) auditRead(r *http.Request, action string, msisdn care360.MSISDN, items int) {
	s.audit(r, action, string(msisdn), nil, map[string]any{"items": items})
}

// noChange tells the audit middleware that this request changed nothing.
func (s *Server) noChange(r *http.Request) {
	if st, ok := r.Context().Value(auditKey{}).(*auditState); ok {
		st.handled = true
	}
}

func (s *Server) recordAudit(r *http.Request, e *care360.AuditEntry) {
	// The change is made: record it even if the client has gone away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.admin.Audit.RecordAudit(ctx, e); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "audit entry not recorded",
			slog.String("route", routeOf(r)), slog.String("action", e.Action), slog.Any("error", err))
	}
}

// auditJSON marshals an audit snapshot; nil stays nil (SQL NULL).
func auditJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unrecordable": err.Error()})
	}
	if string(b) == "null" { // a nil pointer in an interface
		return nil
	}
	return b
}

// generic records a change that its handler did not describe.
func (s *Server) generic(r *http.Request, st *auditState) {
	actor, _ := actorOf(r)
	e := &care360.AuditEntry{Actor: actor, Action: routeKey(r.Method, currentTemplate(r)), Target: r.URL.Path}
	if body := st.body.Bytes(); int64(len(body)) == st.read && json.Valid(body) {
		e.After = bytes.Clone(body)
	} else if st.read > 0 {
		e.After = auditJSON(map[string]any{"content_type": r.Header.Get("Content-Type"), "bytes": st.read})
	}
	s.recordAudit(r, e)
}

// teeBody keeps the start of the request body as the handler reads it.
type teeBody struct {
	io.ReadCloser
	st *auditState
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if room := maxAuditBody - t.st.body.Len(); room > 0 {
		t.st.body.Write(p[:min(n, room)])
	}
	t.st.read += int64(n)
	return n, err
}

// auditWriter writes the generic entry, if one is due, just before the
// response's status goes out.
type auditWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	st      *auditState
	started bool
}

func (w *auditWriter) WriteHeader(code int) {
	if !w.started {
		w.started = true
		if code >= 200 && code < 300 && !w.st.handled {
			w.s.generic(w.r, w.st)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes through for handlers that stream.
func (w *auditWriter) Flush() {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// auditJSONEntry is an audit entry in API form.
type auditJSONEntry struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Actor  actorJSON       `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

type actorJSON struct {
	StaffID int64  `json:"staff_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

// getAudit is GET /api/v1/audit[?actor=&action=&target=&limit=&before=]:
// entries newest first, a page at a time.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	p, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := care360.AuditFilter{Page: p.ask(), Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	list, err := s.admin.Audit.AuditLog(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next := cutPage(p, list, func(e care360.AuditEntry) int64 { return e.ID })
	out := make([]auditJSONEntry, len(list))
	for i, e := range list {
		out[i] = auditJSONEntry{ID: e.ID, At: e.At, Action: e.Action, Target: e.Target,
			Actor:  actorJSON{StaffID: e.Actor.StaffID, Name: e.Actor.Name, Role: string(e.Actor.Role)},
			Before: orNull(e.Before), After: orNull(e.After)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "next": next})
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// List pages: ?limit= (default 50, at most 500) and ?before=, the opaque
// cursor that the previous page's "next" gave.
const (
	defaultPageLimit = 50
	maxPageLimit     = 500
)

type page struct {
	before int64
	limit  int
}

func pageOf(r *http.Request) (page, error) { return pageWithin(r, defaultPageLimit, maxPageLimit) }

// pageWithin is pageOf for lists whose items cost more to read, which take
// a smaller page by default (def) and at most most.
func pageWithin(r *http.Request, def, most int) (page, error) {
	p := page{limit: def}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			return p, care360.Errorf(care360.EINVALID, "limit must be a whole number from 1 to %d", most)
		}
		p.limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return p, care360.Errorf(care360.EINVALID, "before must be the \"next\" of a previous page")
		}
		p.before = n
	}
	return p, nil
}

// ask asks the store for one item more than the page holds, to learn
// whether there is a next page without another query.
func (p page) ask() care360.Page { return care360.Page{Before: p.before, Limit: p.limit + 1} }

// cutPage trims what ask fetched to the page and returns the cursor of the
// next page, or nil on the last one.
func cutPage[T any](p page, items []T, id func(T) int64) ([]T, *string) {
	if len(items) <= p.limit {
		return items, nil
	}
	items = items[:p.limit]
	next := strconv.FormatInt(id(items[len(items)-1]), 10)
	return items, &next
}
