package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
)

// Shorthands for the grants table.
var (
	marketer = []care360.Role{care360.RoleMarketer}
	support  = []care360.Role{care360.RoleSupport}
	partner  = []care360.Role{care360.RolePartner}
	anyStaff = []care360.Role{care360.RoleMarketer, care360.RoleSupport}
	everyone = []care360.Role{care360.RoleMarketer, care360.RoleSupport, care360.RolePartner}
)

// grants says who, besides admins, may call each /api/ route. It is the one
// place to extend when a route is added: the key is the method and the
// route's path template with variable patterns dropped ("{id:[0-9]+}" is
// "{id}"). A route missing here is for admins only, so forgetting an entry
// locks a route rather than opening it. TestRolesOnEveryRoute walks the
// router and checks every route against this table for every role.
//
// Routes of PRODUCT.md §6 that do not exist yet are listed already, so that
// they open to the right role the day they are added.
var grants = map[string][]care360.Role{
	// anyone signed in: who am I; the operator's staff: what may I call
	// (a partner's staff use two routes, listed below)
	"GET /api/v1/me":           everyone,
	"GET /api/v1/openapi.json": anyStaff,
	// the operations dashboard, read-only
	"GET /api/v1/dashboard": anyStaff,

	// partner: check and redeem the codes members show it, its own only
	// (care360.Actor.CodeScope), and nothing else. The operator's staff may
	// look a code up (support answers members who ask about theirs);
	// redeeming is the partner's act at its counter, or an admin's.
	"POST /api/v1/codes:check":  everyone,
	"POST /api/v1/codes:redeem": partner,

	// support: read subscribers and their messages, adjust points with a
	// reason (within care360.RoleLimits, points.go), walk the emulator as a
	// number that is not a member (members: admins only, emulator.go), and
	// read and answer what subscribers text GY (feedback.go)
	"GET /api/v1/subscribers/{msisdn}":         support,
	"GET /api/v1/subscribers/{msisdn}/ledger":  support,
	"GET /api/v1/subscribers/{msisdn}/history": support,
	"POST /api/v1/subscribers/{msisdn}/points": support,
	"GET /api/v1/messages":                     support,
	"POST /api/v1/emulator/ussd":               support,
	"GET /api/v1/feedback":                     support,
	"POST /api/v1/feedback/{id}:reply":         support,

	// marketer: gifts, offers, campaigns, draws, spins, and the reports
	// that show how they do
	"GET /api/v1/gifts":                  marketer,
	"POST /api/v1/gifts":                 marketer,
	"GET /api/v1/gifts/{id}":             marketer,
	"PATCH /api/v1/gifts/{id}":           marketer,
	"POST /api/v1/gifts/{id}/codes":      marketer,
	"GET /api/v1/offers":                 marketer,
	"POST /api/v1/offers":                marketer,
	"PATCH /api/v1/offers/{id}":          marketer,
	"GET /api/v1/campaigns":              marketer,
	"POST /api/v1/campaigns":             marketer,
	"GET /api/v1/campaigns/{id}":         marketer,
	"POST /api/v1/campaigns/{id}:pause":  marketer,
	"POST /api/v1/campaigns/{id}:resume": marketer,
	"POST /api/v1/campaigns/{id}:cancel": marketer,
	"GET /api/v1/ussd/pushes":            marketer,
	"POST /api/v1/ussd/pushes":           marketer,
	"GET /api/v1/ussd/pushes/{id}":       marketer,
	"POST /api/v1/dnc:import":            marketer, // only ever adds numbers: it can stop SMS, never start them
	"GET /api/v1/draws":                  marketer,
	"POST /api/v1/draws":                 marketer,
	"GET /api/v1/draws/{id}":             marketer,
	"POST /api/v1/draws/{id}:close":      marketer,
	"POST /api/v1/draws/{id}:run":        marketer,
	"PATCH /api/v1/draws/{id}":           marketer,
	"POST /api/v1/draws/{id}:cancel":     marketer,
	"GET /api/v1/draws/{id}/audit":       marketer,
	"GET /api/v1/spins":                  marketer,
	"POST /api/v1/spins":                 marketer,
	"POST /api/v1/spins/{id}/grants":     marketer,
	"PATCH /api/v1/spins/{id}":           marketer,
	"GET /api/v1/reports/points":         marketer,
	"GET /api/v1/reports/ussd":           marketer,
	"GET /api/v1/reports/funnel":         marketer,
	"GET /api/v1/reports/claims":         marketer,
	"GET /api/v1/reports/draws":          marketer,
	"GET /api/v1/reports/spins":          marketer,
	"GET /api/v1/reports/sms":            marketer,

	// admins only, listed for the reader's sake: staff, the audit log,
	// profile writes, imports and the billing feed
	"GET /api/v1/staff":                nil,
	"POST /api/v1/staff":               nil,
	"POST /api/v1/staff/{id}:disable":  nil,
	"GET /api/v1/audit":                nil,
	"GET /api/v1/dead-letters":         nil,
	"PUT /api/v1/subscribers/{msisdn}": nil,
	"POST /api/v1/subscribers:import":  nil,
	"POST /api/v1/usage":               nil,
	"GET /api/v1/imports/{id}":         nil,
}

// allowed reports whether role may call method on the route template tpl.
func allowed(role care360.Role, method, tpl string) bool {
	return role == care360.RoleAdmin || slices.Contains(grants[routeKey(method, tpl)], role)
}

// rolesFor lists the roles that may call method on tpl, admin first.
func rolesFor(method, tpl string) []care360.Role {
	return append([]care360.Role{care360.RoleAdmin}, grants[routeKey(method, tpl)]...)
}

// routeKey is the grants key of a route.
func routeKey(method, tpl string) string { return method + " " + plainTemplate(tpl) }

// plainTemplate drops the patterns of a mux path template's variables, so
// that "/campaigns/{id:[0-9]+}:pause" reads "/campaigns/{id}:pause", as
// OpenAPI writes paths too. Braces inside a pattern are balanced, as mux
// requires.
func plainTemplate(tpl string) string {
	var b strings.Builder
	for i := 0; i < len(tpl); i++ {
		if tpl[i] != '{' {
			b.WriteByte(tpl[i])
			continue
		}
		depth, end := 0, len(tpl)
		for j := i; j < len(tpl); j++ {
			if tpl[j] == '{' {
				depth++
			} else if tpl[j] == '}' {
				if depth--; depth == 0 {
					end = j
					break
				}
			}
		}
		name, _, _ := strings.Cut(tpl[i+1:min(end, len(tpl))], ":")
		b.WriteString("{" + name + "}")
		i = end
	}
	return b.String()
}

// currentTemplate is the path template of the route r matched, or "".
func currentTemplate(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if tpl, err := route.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return ""
}
