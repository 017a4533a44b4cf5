package menus

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/care360/care360"
)

// countedPoints counts the account reads the engine makes itself.
type countedPoints struct {
	care360.PointsService
	accounts atomic.Int32
}

func (p *countedPoints) Account(ctx context.Context, m care360.MSISDN) (*care360.Subscriber, care360.PointsBalance, error) {
	p.accounts.Add(1)
	return p.PointsService.Account(ctx, m)
}

// plainDialogues hides the store's DialogueAccountLoader.
type plainDialogues struct{ care360.DialogueStore }

// TestPointsAnswerReadsTheAccountWithTheDialogue: choosing 1 on the main
// menu shows the points read with the dialogue (no read of its own), and
// the screen is the one an engine reading the account separately shows.
// A shortcut to the points screen has no saved dialogue to read it with,
// and reads it itself.
func TestPointsAnswerReadsTheAccountWithTheDialogue(t *testing.T) {
	t.Parallel()
	var points *countedPoints
	b := setup(t, nil, func(c *Config) {
		points = &countedPoints{PointsService: c.Points}
		c.Points = points
	})
	p := b.member(t, "0903555001")
	if _, _, err := b.db.ChangePoints(context.Background(), p.msisdn, care360.PointsChange{Kind: care360.PointsQualifying, Points: 2500, Reason: "test", IdempotencyKey: "acct"}); err != nil {
		t.Fatal(err)
	}
	apart, err := New(Config{Subscribers: b.db, Points: b.db, Dialogues: plainDialogues{b.db}})
	if err != nil {
		t.Fatal(err)
	}
	q := &phone{t: t, e: apart, msisdn: p.msisdn}
	q.send(care360.USSDBegin, "*090#")
	want := q.send(care360.USSDAnswer, "1")
	if !want.End || !strings.Contains(want.Text, "2.500") {
		t.Fatalf("points screen read apart: %+v", want)
	}

	p.send(care360.USSDBegin, "*090#")
	if got := p.send(care360.USSDAnswer, "1"); got != want {
		t.Errorf("points screen read with the dialogue:\n%+v\nwant\n%+v", got, want)
	}
	if n := points.accounts.Load(); n != 0 {
		t.Errorf("the engine read the account %d times itself; the dialogue's load brought it", n)
	}
	// Another choice, then back and 1: the account comes with the load
	// whatever screen the dialogue was saved on last.
	p.send(care360.USSDBegin, "*090#")
	p.send(care360.USSDAnswer, "8")
	p.send(care360.USSDAnswer, "0")
	if got := p.send(care360.USSDAnswer, "1"); got != want || points.accounts.Load() != 0 {
		t.Errorf("after the language menu and back: %+v, %d reads of its own", got, points.accounts.Load())
	}
	if got := p.send(care360.USSDBegin, "*090*1#"); got != want || points.accounts.Load() != 1 {
		t.Errorf("shortcut: %+v, %d reads of its own, want 1", got, points.accounts.Load())
	}
}
