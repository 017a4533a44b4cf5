// Package menus is the USSD dialogue engine and the Care360 menu tree. It
// turns one subscriber message (care360.USSDRequest) into one screen, keeping
// the dialogue's state in a care360.DialogueStore so that any gateway
// instance can continue it. It knows nothing of SMPP or HTTP.
package menus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

// Config wires the engine to the domain.
type Config struct {
	// ServiceCode is the code screens name ("*090#"); with no Services
	// it is also the one code answered, opening the main menu.
	ServiceCode string
	// Services route each service code answered (PRODUCT.md §3.7),
	// longest code first whatever their order here.
	Services []Service
	// Apps call the partner applications Services name.
	Apps        care360.USSDApps
	Subscribers care360.SubscriberService
	Points      care360.PointsService
	Dialogues   care360.DialogueStore
	TierRules   care360.TierRules
	// Draws and Spins are menu 3 (draws.go).
	Draws care360.DrawService
	Spins care360.SpinService
	// The loyalty services behind menus 2 and 4–7 (gift.go, offers.go,
	// vip.go, giftpoints.go); TransferNotifier writes the two SMS of a
	// gift of points, as CD does.
	Gifts            care360.GiftService
	Offers           care360.OfferService
	Privileges       care360.PrivilegeService
	Transfers        care360.TransferService
	TransferRules    care360.TransferRules
	TransferNotifier care360.TransferNotifier
	IdleTimeout      time.Duration // a dialogue idle this long is over (default 60s)
	// ResumeWindow is how long a dialogue dropped by the network can be
	// resumed by dialling the plain code again (default 2 minutes).
	ResumeWindow time.Duration
	// DialRate and DialBurst bound how often one MSISDN may dial (default
	// 10 a minute, bursts of 5): a stuck phone or a script must not be able
	// to keep a worker and a database connection busy.
	DialRate  float64 // dials per second
	DialBurst int
	Location  *time.Location
	Now       func() time.Time // nil: time.Now; tests move the clock
	Logger    *slog.Logger
	Registry  prometheus.Registerer // nil: metrics kept but not exported
	// Records, if set, takes a record of every dialogue that ends here
	// (PRODUCT.md §3.8); the console's emulator dialogues are staff's, and
	// are not recorded.
	Records care360.DialogueRecorder
	// Ends, if set, forgets ended dialogues off the hot path; without it
	// an ending step deletes its dialogue before it answers.
	Ends care360.DialogueEnder
	// Pushes, if set, is told what members do with pushed dialogues.
	Pushes care360.PushTracker

	// Tree replaces the Care360 menu tree; tests use it for screen kinds
	// the product tree does not use yet.
	Tree map[string]*Screen
}

// DefaultIdleTimeout is how long a dialogue may wait for an answer.
const DefaultIdleTimeout = 60 * time.Second

// Engine runs dialogues. It is safe for concurrent use.
type Engine struct {
	cfg      Config
	services []Service // longest code first
	log      *slog.Logger
	screen   map[string]*Screen
	limiter  *dialLimiter
	metrics  *metrics
}

var _ care360.USSDService = (*Engine)(nil)

const (
	maxInvalid   = 3   // invalid answers in a row end the dialogue politely
	maxAnswerLen = 160 // a longer answer is not something a menu asked for
	resumePrefix = "resume/"
)

// New checks the configuration and the menu tree.
func New(cfg Config) (*Engine, error) {
	if cfg.ServiceCode == "" {
		cfg.ServiceCode = "*090#"
	}
	if !strings.HasPrefix(cfg.ServiceCode, "*") || !strings.HasSuffix(cfg.ServiceCode, "#") {
		return nil, fmt.Errorf("menus: service code %q must look like *090#", cfg.ServiceCode)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ResumeWindow <= 0 {
		cfg.ResumeWindow = 2 * time.Minute
	}
	if cfg.DialRate <= 0 {
		cfg.DialRate, cfg.DialBurst = 10.0/60, 5
	}
	if cfg.DialBurst <= 0 {
		cfg.DialBurst = 1
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TierRules.Thresholds == [5]int64{} {
		cfg.TierRules = care360.DefaultTierRules
	}
	cfg.TransferRules = cfg.TransferRules.WithDefaults()
	if len(cfg.Services) == 0 {
		cfg.Services = []Service{{Code: cfg.ServiceCode, Menu: "main"}}
	}
	e := &Engine{
		cfg: cfg, services: sortServices(cfg.Services), log: cfg.Logger,
		limiter: newDialLimiter(cfg.DialRate, cfg.DialBurst), metrics: newMetrics(cfg.Registry),
	}
	// A copy: the partner application's screens are added to it below.
	e.screen = maps.Clone(cfg.Tree)
	if e.screen == nil {
		e.screen = Tree()
	}
	if err := CheckTree(e.screen); err != nil {
		return nil, err
	}
	if err := checkServices(cfg.Services, e.screen, func(string) bool { return cfg.Apps != nil }); err != nil {
		return nil, fmt.Errorf("menus: %w", err)
	}
	e.screen["app"], e.screen["app.end"] = appScreen, appEnd
	return e, nil
}

// state is what a dialogue remembers between steps (stored as JSON).
type state struct {
	Lang    care360.Language  `json:"lang"`
	Member  bool              `json:"member"`
	Screen  string            `json:"screen"`
	Back    []string          `json:"back,omitempty"`   // screens 0 returns to
	Lines   []string          `json:"lines,omitempty"`  // content computed when the screen was entered
	Opts    []string          `json:"opts,omitempty"`   // values of a dynamic list, item n is Opts[n-1]
	Values  map[string]string `json:"values,omitempty"` // what the subscriber chose or typed so far
	Page    int               `json:"page,omitempty"`
	Invalid int               `json:"invalid,omitempty"`
	// ID names this dialogue among every other (keys are reused: an SMPP
	// session number, an aggregator's session id) and Step counts its
	// saved steps: together they key what a step does (actionKey).
	ID   string `json:"id,omitempty"`
	Step int    `json:"step,omitempty"`
	// Saved is the dropped dialogue offered on the resume screen.
	Saved *state `json:"saved,omitempty"`
	// What the dialogue's record will say: its id (ID, unless a dropped
	// dialogue was resumed: ID is then the dropped one's, which keeps its
	// actions' keys), when it began (Unix ms), the code, channel and bind
	// of the dial, the requests so far, the screens entered.
	Rec     string   `json:"rec,omitempty"`
	Started int64    `json:"t0,omitempty"`
	Code    string   `json:"code,omitempty"`
	Channel string   `json:"ch,omitempty"`
	Bind    string   `json:"bind,omitempty"`
	Steps   int      `json:"n,omitempty"`
	Path    []string `json:"path,omitempty"`
	// App names the partner application holding the dialogue (PRODUCT.md
	// §3.7), AppText what was answered to it so far ('*'-joined) and
	// Network the caller's network, if known.
	App     string `json:"app,omitempty"`
	AppText string `json:"app_text,omitempty"`
	Network string `json:"network,omitempty"`
	// Push is the push target of a menu the gateway pushed (PRODUCT.md
	// §3.6; a notification keeps no state), and Lead is the push's heading,
	// shown above the screen it opened until the member moves on.
	Push int64  `json:"push,omitempty"`
	Lead string `json:"lead,omitempty"`
}

// maxPath bounds a record's path: a subscriber paging back and forth for
// minutes must not grow the state every step rewrites.
const maxPath = 32

// call is one step in progress.
type call struct {
	ctx context.Context
	e   *Engine
	req care360.USSDRequest
	st  *state
	sub *care360.Subscriber // loaded on demand
	// acct is the account the store read with the dialogue, for the
	// screen this answer leads to (Screen.ReadsAccount); taken once.
	acct *care360.Account
	// version is the stored dialogue's UpdatedAt as this step loaded or
	// saved it: what an ending forgets (zero: nothing stored yet).
	version time.Time
	// outcome is how the dialogue ends if this step ends it: completed
	// unless the step says otherwise (invalid, error).
	outcome string
}

// lang is the language screens are written in.
func (c *call) lang() care360.Language {
	if c.st.Lang.Valid() {
		return c.st.Lang
	}
	return care360.LangVi
}

// subscriber loads the caller once per step.
func (c *call) subscriber() (*care360.Subscriber, error) {
	if c.sub == nil {
		s, err := c.e.cfg.Subscribers.Subscriber(c.ctx, c.req.MSISDN)
		if err != nil {
			return nil, err
		}
		c.sub = s
	}
	return c.sub, nil
}

// account returns the caller's subscriber and points: those read with the
// dialogue for this step's screen, else read now.
func (c *call) account() (*care360.Subscriber, care360.PointsBalance, error) {
	if a := c.acct; a != nil {
		c.acct = nil // a second screen in the step reads afresh
		c.sub = a.Subscriber
		return a.Subscriber, a.Balance, nil
	}
	sub, bal, err := c.e.cfg.Points.Account(c.ctx, c.req.MSISDN)
	if err != nil {
		return nil, bal, err
	}
	c.sub = sub
	return sub, bal, nil
}

// value returns what the subscriber chose or typed under key.
func (c *call) value(key string) string { return c.st.Values[key] }

// Step answers one subscriber message.
func (e *Engine) Step(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	switch req.Kind {
	case care360.USSDAbort:
		return care360.USSDReply{End: true}, e.abort(ctx, req)
	case care360.USSDBegin:
		return e.begin(ctx, req)
	case care360.USSDAnswer:
		return e.answer(ctx, req)
	case care360.USSDNotifyConfirm:
		return care360.USSDReply{End: true}, e.confirmNotification(ctx, req)
	}
	return care360.USSDReply{}, fmt.Errorf("menus: unknown request kind %d", req.Kind)
}

// abort forgets a dialogue the network dropped, keeping it for a while under
// the subscriber's resume key if it was below the top screen.
func (e *Engine) abort(ctx context.Context, req care360.USSDRequest) error {
	d, err := e.cfg.Dialogues.LoadDialogue(ctx, req.Key, e.cfg.IdleTimeout)
	if err != nil || d == nil {
		e.metrics.dialogues.WithLabelValues("aborted", "").Inc()
		if err == nil {
			// No state: perhaps a pushed notification the network
			// dropped before the phone acknowledged it.
			e.endNotification(req, care360.PushNoAnswer)
		}
		return err
	}
	var st state
	stErr := json.Unmarshal(d.State, &st)
	e.metrics.dialogues.WithLabelValues("aborted", st.Code).Inc()
	if stErr == nil && !req.Console {
		outcome := care360.OutcomeNetworkAbort
		if req.UserAbort {
			outcome = care360.OutcomeUserAbort
		}
		if st.Push != 0 && st.Steps == 0 {
			// A push dropped before any answer reached no one.
			outcome = care360.PushNoAnswer
			e.pushEnded(ctx, &st, outcome)
		} else {
			st.Steps++
		}
		e.record(req, &st, outcome, e.now())
	}
	if req.MSISDN != "" && !req.Console && stErr == nil && st.App == "" && st.Member && st.Screen != "main" && st.Screen != "resume" {
		st.Invalid, st.Saved = 0, nil
		if b, err := json.Marshal(st); err == nil {
			if err := e.cfg.Dialogues.SaveDialogue(ctx, &care360.Dialogue{Key: resumePrefix + string(req.MSISDN), MSISDN: req.MSISDN, State: b}); err != nil {
				e.log.Warn("menus: dropped dialogue not kept for resuming", "err", err)
			}
		}
	}
	return e.cfg.Dialogues.DeleteDialogue(ctx, req.Key)
}

// begin opens a dialogue for a dial (replacing any open one under the key).
func (e *Engine) begin(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	id := newDialogueID()
	c := &call{ctx: ctx, e: e, req: req, st: &state{Lang: care360.LangVi, ID: id, Rec: id,
		Started: e.now().UnixMilli(), Code: e.cfg.ServiceCode, Channel: req.Channel, Bind: req.Bind, Steps: 1}}
	svc, path, ok := e.route(req.Text)
	if !ok {
		e.metrics.dialogues.WithLabelValues("not_ours", "").Inc()
		return e.refuse(c, "not_ours", text(c.lang(), "not.ours", e.cfg.ServiceCode))
	}
	c.st.Code = svc.Code
	if req.MSISDN == "" {
		e.metrics.dialogues.WithLabelValues("not_subscriber", svc.Code).Inc()
		return e.refuse(c, "not_subscriber", text(c.lang(), "not.subscriber"))
	}
	if !e.limiter.allow(req.MSISDN) {
		e.metrics.dialogues.WithLabelValues("rate_limited", svc.Code).Inc()
		e.log.Warn("menus: dialling too often; refused", "msisdn", req.MSISDN.Masked())
		// No record: the limit is there to shed a flood's load, and a
		// record per refused dial would hand the flood to Postgres again
		// (the metric counts them).
		return care360.USSDReply{Text: c.fit(text(c.lang(), "rate.limited")), End: true}, nil
	}
	e.metrics.dialogues.WithLabelValues("opened", svc.Code).Inc()
	if svc.App != "" {
		e.replace(c)
		return e.beginApp(c, svc, path)
	}
	// Only a plain dial of the main menu offers a dropped dialogue back.
	sub, dropped, err := e.caller(c, len(path) == 0 && !req.Console && svc.Menu == "main")
	switch {
	case care360.ErrorCode(err) == care360.ENOTFOUND:
		c.st.Screen = "register"
	case err != nil:
		return e.fail(c, err)
	case sub.Status == care360.StatusSuspended:
		c.st.Lang = sub.Language
		return e.end(c, text(c.lang(), "suspended"))
	default:
		c.st.Lang, c.st.Member, c.st.Screen = sub.Language, true, "main"
	}
	if dropped != nil && c.st.Member {
		if saved, err := e.resumable(c, dropped); err != nil {
			e.log.Warn("menus: could not take up a dropped dialogue", "err", err)
		} else if saved != nil {
			c.st.Screen, c.st.Saved = "resume", saved
			c.st.Path = append(c.st.Path, "resume")
			return e.show(c)
		}
	}
	if err := e.enter(c, c.st.Screen, false); err != nil {
		return e.fail(c, err)
	}
	// Another code's screen opens as if chosen from the main menu, so
	// that 0 and 00 lead there.
	if c.st.Member && svc.Menu != "main" {
		if err := e.enter(c, svc.Menu, true); err != nil {
			return e.fail(c, err)
		}
		if sc := e.screen[c.st.Screen]; sc.Info != nil {
			return e.show(c)
		}
	}
	// A shortcut behaves exactly like typing its choices one by one, except
	// that it stops at the first screen that asks for input or confirmation.
	for _, in := range path {
		if sc := e.screen[c.st.Screen]; sc.Input != nil || sc.Confirm != nil || sc.confirms(in) {
			break
		}
		out, err := e.apply(c, in)
		if err != nil {
			return e.fail(c, err)
		}
		if out != nil {
			return *out, nil
		}
		if c.st.Invalid > 0 {
			break
		}
	}
	return e.show(c)
}

// replace ends the caller's dialogues in progress, which this dial
// replaces (PRODUCT.md §3.1), each with its record (replaced). Staff's
// emulator dials are not the subscriber's and replace nothing. A failure
// only costs the records: the old dialogues then idle out.
func (e *Engine) replace(c *call) {
	r, ok := e.cfg.Dialogues.(care360.DialogueReplacer)
	if !ok || c.req.Console {
		return
	}
	ds, err := r.ReplaceDialogues(c.ctx, c.req.MSISDN, e.cfg.IdleTimeout)
	if err != nil {
		e.log.Warn("menus: dialogues not replaced; they will idle out", "err", err)
		return
	}
	e.replaced(c, ds)
}

// replaced records the dialogues this dial ended.
func (e *Engine) replaced(c *call, ds []care360.Dialogue) {
	now := e.now()
	for _, d := range ds {
		var st state
		if json.Unmarshal(d.State, &st) != nil || (st.ID == "" && st.Rec == "") {
			continue
		}
		e.record(c.req, &st, care360.OutcomeReplaced, now)
	}
}

// caller replaces the caller's dialogues in progress (see replace) and
// loads the subscriber and, for a plain dial (withDropped), the dialogue
// they lost to the network in the last ResumeWindow: in one round trip
// when the store can.
func (e *Engine) caller(c *call, withDropped bool) (*care360.Subscriber, *care360.Dialogue, error) {
	key := resumePrefix + string(c.req.MSISDN)
	l, ok := e.cfg.Dialogues.(care360.CallerLoader)
	if !ok {
		e.replace(c)
		s, err := c.subscriber()
		if err != nil || !withDropped {
			return s, nil, err
		}
		d, err := e.cfg.Dialogues.LoadDialogue(c.ctx, key, e.cfg.ResumeWindow)
		return s, d, err
	}
	q := care360.CallerQuery{Replace: !c.req.Console, Idle: e.cfg.IdleTimeout}
	if withDropped {
		q.DroppedKey, q.DroppedWithin = key, e.cfg.ResumeWindow
	}
	s, d, ds, err := l.Caller(c.ctx, c.req.MSISDN, q)
	e.replaced(c, ds)
	c.sub = s
	return s, d, err
}

// resumable forgets a dropped dialogue (it is offered once) and returns its
// state, or nil when there is nothing worth resuming.
func (e *Engine) resumable(c *call, d *care360.Dialogue) (*state, error) {
	if err := e.cfg.Dialogues.DeleteDialogue(c.ctx, d.Key); err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(d.State, &st); err != nil {
		return nil, nil
	}
	return &st, nil
}

// answer continues an open dialogue with what the subscriber typed.
func (e *Engine) answer(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	c := &call{ctx: ctx, e: e, req: req, st: &state{}}
	in, ok := cleanAnswer(req.Text)
	d, err := e.load(c, in, ok)
	if err != nil {
		return e.fail(c, err)
	}
	if d == nil {
		e.metrics.dialogues.WithLabelValues("expired", "").Inc()
		return care360.USSDReply{Text: text(care360.LangVi, "session.ended", e.cfg.ServiceCode), End: true}, nil
	}
	c.version = d.UpdatedAt
	if err := json.Unmarshal(d.State, c.st); err != nil {
		e.log.Error("menus: corrupt dialogue state; ending it", "err", err)
		c.outcome = care360.OutcomeError
		return e.end(c, text(care360.LangVi, "session.ended", e.cfg.ServiceCode))
	}
	c.st.Steps++
	e.pushAnswered(c)
	if c.st.App != "" {
		return e.answerApp(c, in, ok)
	}
	if !ok {
		e.metrics.invalid.WithLabelValues("malformed").Inc()
		e.log.Info("menus: malformed answer", "msisdn", req.MSISDN.Masked(), "len", len(req.Text))
		in = "\x00" // matches nothing: counts as an invalid answer
	}
	out, err := e.apply(c, in)
	if err != nil {
		return e.fail(c, err)
	}
	if out != nil {
		return *out, nil
	}
	return e.show(c)
}

// load reads the dialogue an answer continues, and with it the caller's
// account when the store can and the answer is one the dialogue saved as
// leading to a screen that shows it.
func (e *Engine) load(c *call, in string, ok bool) (*care360.Dialogue, error) {
	l, can := e.cfg.Dialogues.(care360.DialogueAccountLoader)
	if !can || !ok || c.req.MSISDN == "" {
		return e.cfg.Dialogues.LoadDialogue(c.ctx, c.req.Key, e.cfg.IdleTimeout)
	}
	d, a, err := l.LoadDialogueFor(c.ctx, c.req.Key, e.cfg.IdleTimeout, c.req.MSISDN, in)
	c.acct = a
	return d, err
}

// accountOn lists the answers on the current screen that lead to a screen
// showing the member's account (Screen.ReadsAccount): fixed items, and
// every pick of a computed list whose next screen does.
func (e *Engine) accountOn(c *call) []string {
	sc := e.screen[c.st.Screen]
	if sc == nil || c.st.App != "" {
		return nil
	}
	reads := func(id string) bool { s := e.screen[id]; return s != nil && s.ReadsAccount }
	var on []string
	for _, it := range sc.Items {
		if it.To != "" && reads(it.To) {
			on = append(on, strconv.Itoa(it.Num))
		}
	}
	if sc.Options != nil && reads(sc.Next) {
		for i := range c.st.Opts {
			on = append(on, strconv.Itoa(i+1))
		}
	}
	return on
}

// cleanAnswer trims an answer and refuses what no screen asks for: control
// characters and oversize text.
func cleanAnswer(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxAnswerLen {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", false
		}
	}
	return s, true
}

// home is the top screen: the main menu for members, registration otherwise.
func (c *call) home() string {
	if c.st.Member {
		return "main"
	}
	return "register"
}

// show renders the current page, saves the dialogue, and ends it when the
// last page of an info screen is shown.
func (e *Engine) show(c *call) (care360.USSDReply, error) {
	sc := e.screen[c.st.Screen]
	pages := e.paginate(c, sc)
	c.st.Page = min(c.st.Page, len(pages)-1)
	body := pages[c.st.Page]
	if sc.Info != nil && c.st.Page == len(pages)-1 {
		return e.end(c, body)
	}
	if err := e.save(c); err != nil {
		return e.fail(c, err)
	}
	return care360.USSDReply{Text: body, Pushed: c.st.Push != 0}, nil
}

// end finishes the dialogue with a final screen.
func (e *Engine) end(c *call, body string) (care360.USSDReply, error) {
	switch {
	case e.cfg.Ends != nil && !c.version.IsZero():
		e.cfg.Ends.EndDialogue(c.req.Key, c.version)
	case c.req.Kind == care360.USSDAnswer || c.st.Screen != "":
		if err := e.cfg.Dialogues.DeleteDialogue(c.ctx, c.req.Key); err != nil {
			e.log.Warn("menus: dialogue not deleted; it will idle out", "err", err)
		}
	}
	e.metrics.dialogues.WithLabelValues("ended", c.st.Code).Inc()
	outcome := c.outcome
	if outcome == "" {
		outcome = care360.OutcomeCompleted
	}
	if !c.req.Console {
		e.record(c.req, c.st, outcome, e.now())
	}
	e.pushEnded(c.ctx, c.st, outcome)
	return care360.USSDReply{Text: c.fit(body), End: true, Pushed: c.st.Push != 0}, nil
}

// refuse ends a dial turned away before it had a screen (nothing stored,
// so nothing to delete), recording why as its last screen.
func (e *Engine) refuse(c *call, why, body string) (care360.USSDReply, error) {
	e.metrics.dialogues.WithLabelValues("ended", c.st.Code).Inc()
	if !c.req.Console {
		st := *c.st
		st.Screen = why
		e.record(c.req, &st, care360.OutcomeCompleted, e.now())
	}
	return care360.USSDReply{Text: c.fit(body), End: true}, nil
}

// record hands the ended dialogue's record to the recorder, if any.
func (e *Engine) record(req care360.USSDRequest, st *state, outcome string, now time.Time) {
	if e.cfg.Records == nil || (st.ID == "" && st.Rec == "") {
		return
	}
	e.cfg.Records.RecordDialogue(RecordOf(req.MSISDN, st, outcome, now))
}

// RecordOf is the record of a dialogue that ended at end with outcome.
func RecordOf(msisdn care360.MSISDN, st *state, outcome string, end time.Time) care360.DialogueRecord {
	started := end
	if st.Started > 0 {
		started = time.UnixMilli(st.Started)
	}
	id := st.Rec
	if id == "" {
		id = st.ID
	}
	return care360.DialogueRecord{
		ID: id, MSISDN: msisdn, Code: st.Code, Channel: st.Channel, Bind: st.Bind,
		StartedAt: started, EndedAt: end, Steps: st.Steps, Path: append([]string{}, st.Path...),
		Outcome: outcome, LastScreen: st.Screen,
	}
}

// TimedOut is the record of a dialogue found idle (PRODUCT.md §3.8
// timeout): it ended when its last step was idle timeout ago. ok is false
// for what is not a dialogue (a dropped one kept for resuming) or cannot
// be read.
func (e *Engine) TimedOut(d care360.Dialogue) (r care360.DialogueRecord, ok bool) {
	var st state
	if strings.HasPrefix(d.Key, resumePrefix) || json.Unmarshal(d.State, &st) != nil || (st.ID == "" && st.Rec == "") {
		return r, false
	}
	outcome := care360.OutcomeTimeout
	if st.Push != 0 && st.Steps == 0 {
		outcome = care360.PushNoAnswer // the push queue's sweep ends its target
	}
	return RecordOf(d.MSISDN, &st, outcome, d.UpdatedAt.Add(e.cfg.IdleTimeout)), true
}

// fail turns an error into the screen a subscriber may see: a refusal says
// what was wrong in the subscriber's language, anything else is "service
// unavailable". This is the one place domain errors become screens.
func (e *Engine) fail(c *call, err error) (care360.USSDReply, error) {
	if care360.ErrorReason(err) == care360.ReasonSIMSwapHold && care360.ErrorCode(err) == care360.EREFUSED {
		return e.end(c, text(c.lang(), "refused.hold", care360.ErrorUntil(err).In(e.cfg.Location).Format("15:04 02/01/2006")))
	}
	if key, ok := refusals[care360.ErrorReason(err)]; ok && care360.ErrorCode(err) == care360.EREFUSED {
		return e.end(c, text(c.lang(), key))
	}
	e.metrics.dialogues.WithLabelValues("failed", c.st.Code).Inc()
	e.log.Error("menus: step failed", "err", err, "screen", c.st.Screen, "msisdn", c.req.MSISDN.Masked())
	if !c.req.Console {
		e.record(c.req, c.st, care360.OutcomeError, e.now())
	}
	return care360.USSDReply{Text: text(c.lang(), "unavailable"), End: true}, nil
}

// refusals name the screen for each refusal reason a subscriber can meet.
var refusals = map[string]msg{
	care360.ReasonInsufficientPoints: "refused.points",
	care360.ReasonOutOfStock:         "refused.stock",
	care360.ReasonLimitReached:       "refused.limit",
	care360.ReasonTier:               "refused.tier",
	care360.ReasonWindow:             "refused.window",
	care360.ReasonSuspended:          "suspended",
	care360.ReasonNotEligible:        "refused.eligible",
	care360.ReasonNotMember:          "refused.member",
	care360.ReasonSelf:               "refused.self",
	care360.ReasonAmount:             "refused.amount",
	care360.ReasonCancelled:          "refused.cancel",
}

// save keeps the dialogue for its next step, which gets the next step
// number.
func (e *Engine) save(c *call) error {
	c.st.Step++
	b, err := json.Marshal(c.st)
	if err != nil {
		return err
	}
	d := &care360.Dialogue{Key: c.req.Key, MSISDN: c.req.MSISDN, State: b, AccountOn: e.accountOn(c)}
	if err := e.cfg.Dialogues.SaveDialogue(c.ctx, d); err != nil {
		return err
	}
	c.version = d.UpdatedAt
	return nil
}

// newDialogueID is 16 random hex digits (64 bits).
func newDialogueID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// actionKey is the idempotency key of what this step does (a claim, a
// booking, a spin, a gift of points...): the dialogue and the number of
// the step being answered. A step run again with the same stored state
// (its answer delivered twice, or its dialogue's save lost after the
// action committed) has the same key, so the action happens once and the
// re-run shows its outcome. The "ussd:" prefix keeps these system keys
// apart from keys API callers choose; they stay far below the stores'
// 190-byte limit.
func (c *call) actionKey() string {
	id := c.st.ID
	if id == "" { // a dialogue saved before dialogues had ids
		id = "k" + c.req.Key
	}
	return "ussd:" + id + ":" + strconv.Itoa(c.st.Step)
}
