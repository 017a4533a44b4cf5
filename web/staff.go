package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// AdminConfig serves staff accounts, the audit log and the reports. Without
// it only the built-in admin token works and changes are not audited (unit
// tests of other handlers); cmd/ always sets it.
type AdminConfig struct {
	Staff   care360.StaffService
	Audit   care360.AuditService
	Reports care360.ReportService
	// DeadLetters shows what the queues set aside (PRODUCT.md §8); nil
	// answers 503.
	DeadLetters care360.DeadLetterService
	// Binds, if set, lists the SMPP binds for the operations dashboard.
	Binds func() []DashboardBind
	// Operations, if set, gives the dashboard its traffic, queue and job
	// figures; DialogueIdle is how long a silent dialogue stays open
	// (default 60 s, as the menus).
	Operations   care360.OperationsService
	DialogueIdle time.Duration
	// DialogueRecords serves the records of ended dialogues and the funnel
	// report (PRODUCT.md §3.8); nil answers 503.
	DialogueRecords care360.DialogueRecordService
	// Export reads everything held about a member (GET
	// /api/v1/subscribers/{msisdn}/export); nil answers 503.
	Export care360.MemberExporter
	// Eraser erases members (POST /api/v1/subscribers/{msisdn}:erase);
	// nil answers 503.
	Eraser care360.Eraser
	// History reads a membership's history (GET
	// /api/v1/subscribers/{msisdn}/history); nil answers 503.
	History care360.MemberHistory
	// Location is where report days begin (CARE360_TIMEZONE); nil means
	// Asia/Ho_Chi_Minh, the default.
	Location *time.Location
}

// adminRoutes mounts the endpoints of issue 8: staff, audit, reports, the
// phone emulator and the OpenAPI description. Their roles are in roles.go.
func (s *Server) adminRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/me", s.getMe).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/staff", s.listStaff).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/staff", s.postStaff).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/staff/{id:[0-9]+}:disable", s.disableStaff).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/audit", s.getAudit).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/dead-letters", s.getDeadLetters).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/dashboard", s.getDashboard).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/reports/points", s.pointsReport).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/reports/ussd", s.ussdReport).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/reports/funnel", s.funnelReport).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/dialogues", s.getDialogues).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/subscribers/{msisdn}/export", s.getExport).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/subscribers/{msisdn:[^/:]+}:erase", s.postErase).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/subscribers/{msisdn}/history", s.getHistory).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/emulator/ussd", s.emulatorUSSD).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/openapi.json", s.getOpenAPI).Methods(http.MethodGet)
}

var errNoAdmin = care360.Errorf(care360.EUNAVAILABLE, "staff accounts, audit and reports are not configured on this server")

// adminReady answers 503 and reports false when AdminConfig is absent.
func (s *Server) adminReady(w http.ResponseWriter, r *http.Request) bool {
	if s.admin == nil {
		s.writeError(w, r, errNoAdmin)
		return false
	}
	return true
}

// staffJSON is a staff account in API form; Token is set only in the answer
// that creates the account, the one time it can be read.
type staffJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Partner    string     `json:"partner,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	DisabledAt *time.Time `json:"disabled_at"`
	Token      string     `json:"token,omitempty"`
}

func staffOut(st *care360.Staff) staffJSON {
	return staffJSON{ID: st.ID, Name: st.Name, Role: string(st.Role), Partner: st.Partner, CreatedAt: st.CreatedAt,
		CreatedBy: st.CreatedBy, DisabledAt: st.DisabledAt}
}

// getMe tells the console who is signed in, so that it shows only what the
// role may use; a partner's account also says which partner it is.
func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	me := map[string]any{"staff_id": a.StaffID, "name": a.Name, "role": a.Role}
	if a.Partner != "" {
		me["partner"] = a.Partner
	}
	writeJSON(w, http.StatusOK, me)
}

// listStaff is GET /api/v1/staff: accounts, newest first, a page at a time.
func (s *Server) listStaff(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	p, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.admin.Staff.ListStaff(r.Context(), p.ask())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next := cutPage(p, list, func(st care360.Staff) int64 { return st.ID })
	out := make([]staffJSON, len(list))
	for i := range list {
		out[i] = staffOut(&list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": out, "next": next})
}

// postStaff is POST /api/v1/staff {"name","role","partner"}: 201 with the
// account and its token, which is stored only as a hash and never shown
// again. A partner account names its partner as offers and gifts do.
func (s *Server) postStaff(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	var req struct {
		Name    string `json:"name"`
		Role    string `json:"role"`
		Partner string `json:"partner"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	n := care360.NewStaff{Name: req.Name, Role: care360.Role(req.Role), Partner: req.Partner}
	if err := n.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	actor, _ := actorOf(r)
	secret, hash := care360.NewStaffSecret()
	st, err := s.admin.Staff.CreateStaff(r.Context(), n, hash, actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := staffOut(st)
	s.audit(r, "staff.create", staffTarget(st.ID), nil, out) // before the token is added
	out.Token = care360.StaffToken(st.ID, secret)
	w.Header().Set("Location", "/api/v1/staff/"+strconv.FormatInt(st.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

// disableStaff is POST /api/v1/staff/{id}:disable: the account's token stops
// working at once (every request reads the account).
func (s *Server) disableStaff(w http.ResponseWriter, r *http.Request) {
	if !s.adminReady(w, r) {
		return
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		s.writeError(w, r, care360.Errorf(care360.ENOTFOUND, "no such staff account"))
		return
	}
	before, _, err := s.admin.Staff.StaffToken(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.admin.Staff.DisableStaff(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if before.DisabledAt == nil {
		s.audit(r, "staff.disable", staffTarget(id), staffOut(before), staffOut(st))
	} else {
		s.noChange(r)
	}
	writeJSON(w, http.StatusOK, staffOut(st))
}

func staffTarget(id int64) string { return "staff/" + strconv.FormatInt(id, 10) }
