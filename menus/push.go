package menus

import (
	"context"
	"strconv"

	"github.com/care360/care360"
)

// OpenPush renders the first screen of a pushed dialogue in the member's
// language and keeps the dialogue for the phone's answer: a menu opens its
// screen as if the member had walked there from the main menu (so 0 goes
// back the usual way and 00 home), a notification is kept only to learn
// whether the phone acknowledged it. A screen that cannot be shown (a gift
// out of stock, a draw closed, a member under hold) is an error: the push
// is not sent.
func (e *Engine) OpenPush(ctx context.Context, ps care360.PushOpen) (care360.USSDReply, error) {
	id := newDialogueID()
	req := care360.USSDRequest{Key: ps.Key, MSISDN: ps.MSISDN, LimitGSM: ps.LimitGSM, LimitUCS2: ps.LimitUCS2,
		Channel: care360.ChannelPush, Bind: ps.Bind}
	c := &call{ctx: ctx, e: e, req: req, st: &state{Lang: care360.LangVi, ID: id, Rec: id, Started: e.now().UnixMilli(),
		Code: e.cfg.ServiceCode, Channel: care360.ChannelPush, Bind: ps.Bind, Push: ps.Target}}
	if ps.Kind == care360.PushNotify {
		// Staff's text as it is, with no state: the phone's
		// acknowledgement (or the network's abort) finds the target by
		// the member and the dialogue number (endNotification), so a
		// notification costs the database no dialogue of its own.
		return care360.USSDReply{Text: c.fit(ps.Text), Pushed: true}, nil
	}
	sub, err := c.subscriber()
	if err != nil {
		return care360.USSDReply{}, err
	}
	if sub.Status == care360.StatusSuspended {
		return care360.USSDReply{}, care360.Refused(care360.ReasonSuspended, "%s is suspended", ps.MSISDN.Masked())
	}
	c.st.Lang, c.st.Member = sub.Language, true
	if err := e.enter(c, "main", false); err != nil {
		return care360.USSDReply{}, err
	}
	if err := e.pushTo(c, ps.Screen); err != nil {
		return care360.USSDReply{}, err
	}
	c.st.Lead = ps.Text
	sc := e.screen[c.st.Screen]
	pages := e.paginate(c, sc)
	if sc.Info != nil && len(pages) == 1 {
		// Nothing to answer: a notification would have done.
		return care360.USSDReply{}, care360.Errorf(care360.EINVALID, "screen %s asks nothing", c.st.Screen)
	}
	if err := e.save(c); err != nil {
		return care360.USSDReply{}, err
	}
	return care360.USSDReply{Text: pages[0], Pushed: true}, nil
}

// pushTo walks from the main menu to the screen a push opens, choosing
// what the member would have chosen on the way.
func (e *Engine) pushTo(c *call, s care360.PushScreen) error {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	walk := func(through []string, picks map[string]string, to string) error {
		for _, sc := range through {
			c.st.Back = append(c.st.Back, c.st.Screen)
			c.st.Screen = sc
			c.st.Path = append(c.st.Path, sc)
		}
		for k, v := range picks {
			c.remember(k, v)
		}
		return e.enter(c, to, true)
	}
	switch {
	case s.Menu == "main":
		return nil
	case s.Gift != 0:
		return walk([]string{"gifts"}, map[string]string{"gifts": id(s.Gift)}, "gift.confirm")
	case s.Draw != 0:
		return walk([]string{"draws", "draws.list"}, map[string]string{"draws.list": id(s.Draw)}, "draws.confirm")
	case s.Offer != 0:
		o, err := e.cfg.Offers.Offer(c.ctx, s.Offer)
		if err != nil {
			return err
		}
		switch {
		case o.Kind == care360.OfferResort:
			return walk([]string{"resort"}, map[string]string{"resort": id(o.ID)}, "offer.nights")
		case o.Category.Nightly():
			return walk([]string{"mconnect", "mc." + string(o.Category)}, map[string]string{"mc." + string(o.Category): id(o.ID)}, "offer.nights")
		default:
			return walk([]string{"mconnect", "mc." + string(o.Category)}, map[string]string{"mc." + string(o.Category): id(o.ID)}, "offer.code")
		}
	}
	return care360.Errorf(care360.EINVALID, "a push needs a screen")
}

var _ care360.PushDialogues = (*Engine)(nil)

// endNotification tells the tracker how the notification pushed under
// the request's dialogue number ended, if it was one; the tracker writes
// it, with its record, in a batch.
func (e *Engine) endNotification(req care360.USSDRequest, state string) {
	if e.cfg.Pushes != nil && req.Ref != 0 && req.MSISDN != "" && !req.Console {
		e.cfg.Pushes.NotificationEnded(req.MSISDN, req.Ref, state, req.Bind)
	}
}

// confirmNotification ends a pushed notification the phone acknowledged.
// It reads no dialogue: a notification keeps none, and the acknowledgement
// of a pushed menu's closing USSN comes after its dialogue is gone (it
// finds no live notification and changes nothing).
func (e *Engine) confirmNotification(_ context.Context, req care360.USSDRequest) error {
	e.endNotification(req, care360.PushCompleted)
	return nil
}

// pushAnswered tells the push tracker that a pushed menu got its first
// answer. The answer goes on either way: the tracker's word is a report.
func (e *Engine) pushAnswered(c *call) {
	if c.st.Push == 0 || c.st.Steps != 1 || e.cfg.Pushes == nil {
		return
	}
	if err := e.cfg.Pushes.PushAnswered(c.ctx, c.st.Push); err != nil {
		e.log.Warn("menus: push answer not recorded", "err", err)
	}
}

// pushEnded tells the push tracker how a pushed dialogue ended: completed
// unless nothing was ever answered (no_answer).
func (e *Engine) pushEnded(ctx context.Context, st *state, outcome string) {
	if st.Push == 0 || e.cfg.Pushes == nil {
		return
	}
	state := care360.PushCompleted
	if outcome == care360.PushNoAnswer {
		state = care360.PushNoAnswer
	} else if st.Steps == 0 {
		return // ended by us before any answer: there is no such path
	}
	if err := e.cfg.Pushes.PushFinished(ctx, st.Push, state); err != nil {
		e.log.Warn("menus: push outcome not recorded", "err", err)
	}
}
