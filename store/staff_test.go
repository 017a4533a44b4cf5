package store_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
)

var staffNames atomic.Int64

// uniqueName returns a staff name no other test in this process uses (the
// package's tests share one database, and names are unique).
func uniqueName(prefix string) string { return fmt.Sprintf("%s %d", prefix, staffNames.Add(1)) }

func TestStaffAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := uniqueName("Lan")
	secret, hash := care360.NewStaffSecret()
	st, err := b.db.CreateStaff(b.ctx, care360.NewStaff{Name: name, Role: care360.RoleSupport}, hash, care360.BuiltinAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == 0 || st.Name != name || st.Role != care360.RoleSupport || st.CreatedBy != "admin" || st.DisabledAt != nil {
		t.Fatalf("created %+v", st)
	}
	got, gotHash, err := b.db.StaffToken(b.ctx, st.ID)
	if err != nil || got.Name != name || !care360.SameHash(gotHash, hash) {
		t.Fatalf("StaffToken = %+v, %v", got, err)
	}
	id, h, ok := care360.ParseStaffToken(care360.StaffToken(st.ID, secret))
	if !ok || id != st.ID || !care360.SameHash(h, gotHash) {
		t.Fatalf("the token does not lead back to the account: %d %v", id, ok)
	}

	_, err = b.db.CreateStaff(b.ctx, care360.NewStaff{Name: name, Role: care360.RoleAdmin}, hash, care360.BuiltinAdmin)
	wantCode(t, err, care360.ECONFLICT)
	_, err = b.db.CreateStaff(b.ctx, care360.NewStaff{Name: uniqueName("X"), Role: "owner"}, hash, care360.BuiltinAdmin)
	wantCode(t, err, care360.EINVALID)
	_, _, err = b.db.StaffToken(b.ctx, 1<<60)
	wantCode(t, err, care360.ENOTFOUND)

	d1, err := b.db.DisableStaff(b.ctx, st.ID)
	if err != nil || d1.DisabledAt == nil {
		t.Fatalf("DisableStaff = %+v, %v", d1, err)
	}
	b.clock.Add(time.Hour)
	d2, err := b.db.DisableStaff(b.ctx, st.ID)
	if err != nil || !d2.DisabledAt.Equal(*d1.DisabledAt) {
		t.Fatalf("a second disable moved the time: %v then %v (%v)", d1.DisabledAt, d2.DisabledAt, err)
	}
	_, err = b.db.DisableStaff(b.ctx, 1<<60)
	wantCode(t, err, care360.ENOTFOUND)
}

func TestListStaffPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []int64
	for range 5 {
		_, hash := care360.NewStaffSecret()
		st, err := b.db.CreateStaff(b.ctx, care360.NewStaff{Name: uniqueName("Page"), Role: care360.RoleMarketer}, hash, care360.BuiltinAdmin)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	// Other tests add accounts too: page from just above our newest.
	page, err := b.db.ListStaff(b.ctx, care360.Page{Before: ids[4] + 1, Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != ids[4] || page[1].ID >= page[0].ID {
		t.Fatalf("first page %+v, %v", page, err)
	}
	next, err := b.db.ListStaff(b.ctx, care360.Page{Before: page[1].ID, Limit: 2})
	if err != nil || len(next) != 2 || next[0].ID >= page[1].ID {
		t.Fatalf("second page %+v, %v", next, err)
	}
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, hash := care360.NewStaffSecret()
	st, err := b.db.CreateStaff(b.ctx, care360.NewStaff{Name: uniqueName("Auditor"), Role: care360.RoleSupport}, hash, care360.BuiltinAdmin)
	if err != nil {
		t.Fatal(err)
	}
	target := string(newMSISDN())
	entries := []*care360.AuditEntry{
		{Actor: st.Actor(), Action: "points.change", Target: target, Before: json.RawMessage(`{"balance":{"spendable":0}}`), After: json.RawMessage(`{"balance":{"spendable":500}}`)},
		{Actor: care360.BuiltinAdmin, Action: "subscriber.put", Target: target, After: json.RawMessage(`{"name":"An"}`)},
		{Actor: st.Actor(), Action: "points.change", Target: target + "9"},
	}
	for _, e := range entries {
		if err := b.db.RecordAudit(b.ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 || e.At.IsZero() {
			t.Fatalf("entry not filled in: %+v", e)
		}
	}
	got, err := b.db.AuditLog(b.ctx, care360.AuditFilter{Page: care360.Page{Limit: 10}, Target: target})
	if err != nil || len(got) != 2 {
		t.Fatalf("by target: %+v, %v", got, err)
	}
	if got[0].Action != "subscriber.put" || got[0].Before != nil || got[0].Actor.StaffID != 0 || got[0].Actor.Name != "admin" {
		t.Errorf("newest first, built-in admin, no before: %+v", got[0])
	}
	var after struct{ Balance struct{ Spendable int } }
	if err := json.Unmarshal(got[1].After, &after); err != nil || after.Balance.Spendable != 500 || got[1].Actor != st.Actor() {
		t.Errorf("points entry: %+v (%v)", got[1], err)
	}
	got, err = b.db.AuditLog(b.ctx, care360.AuditFilter{Page: care360.Page{Limit: 10}, Actor: st.Name, Action: "points."})
	if err != nil || len(got) != 2 {
		t.Fatalf("by actor and action prefix: %+v, %v", got, err)
	}
	got, err = b.db.AuditLog(b.ctx, care360.AuditFilter{Page: care360.Page{Before: got[0].ID, Limit: 10}, Actor: st.Name})
	if err != nil || len(got) != 1 || got[0].Target != target {
		t.Fatalf("second page: %+v, %v", got, err)
	}
	if _, err := b.db.Pool().Exec(b.ctx, `UPDATE audit_log SET action = 'x' WHERE id = $1`, got[0].ID); err == nil {
		t.Error("the audit log could be rewritten")
	}
	if _, err := b.db.Pool().Exec(b.ctx, `DELETE FROM audit_log WHERE id = $1`, got[0].ID); err == nil {
		t.Error("an audit entry could be deleted")
	}
}
