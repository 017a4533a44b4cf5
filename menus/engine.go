// Package menus is the USSD dialogue engine and the Care360 menu tree. It
// turns one subscriber message (care360.USSDRequest) into one screen, keeping
// the dialogue's state in a care360.DialogueStore so that any gateway
// instance can continue it. It knows nothing of SMPP or HTTP.
package menus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/care360/care360"
)

// Config wires the engine to the domain.
type Config struct {
	ServiceCode string // the code we answer, "*090#"
	Subscribers care360.SubscriberService
	Points      care360.PointsService
	Dialogues   care360.DialogueStore
	TierRules   care360.TierRules
	IdleTimeout time.Duration // a dialogue idle this long is over (default 60s)
	Location    *time.Location
	Logger      *slog.Logger
}

// Engine runs dialogues. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	base   string // the service code without its final '#', "*090"
	log    *slog.Logger
	screen map[string]*screen
}

var _ care360.USSDService = (*Engine)(nil)

// maxInvalid answers in a row end the dialogue politely.
const maxInvalid = 3

// New checks the configuration and the menu tree.
func New(cfg Config) (*Engine, error) {
	if cfg.ServiceCode == "" {
		cfg.ServiceCode = "*090#"
	}
	if !strings.HasPrefix(cfg.ServiceCode, "*") || !strings.HasSuffix(cfg.ServiceCode, "#") {
		return nil, fmt.Errorf("menus: service code %q must look like *090#", cfg.ServiceCode)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
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
	e := &Engine{cfg: cfg, base: strings.TrimSuffix(cfg.ServiceCode, "#"), log: cfg.Logger}
	e.screen = tree()
	if err := checkTree(e.screen); err != nil {
		return nil, err
	}
	return e, nil
}

// state is what a dialogue remembers between steps (stored as JSON).
type state struct {
	Lang    care360.Language `json:"lang"`
	Member  bool             `json:"member"`
	Screen  string           `json:"screen"`
	Back    []string         `json:"back,omitempty"`  // screens 0 returns to
	Lines   []string         `json:"lines,omitempty"` // content of an info screen, fixed when entered
	Page    int              `json:"page,omitempty"`
	Invalid int              `json:"invalid,omitempty"`
}

// call is one step in progress.
type call struct {
	ctx context.Context
	e   *Engine
	req care360.USSDRequest
	st  *state
	sub *care360.Subscriber // loaded on demand
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

// Step answers one subscriber message.
func (e *Engine) Step(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	switch req.Kind {
	case care360.USSDAbort:
		return care360.USSDReply{End: true}, e.cfg.Dialogues.DeleteDialogue(ctx, req.Key)
	case care360.USSDBegin:
		return e.begin(ctx, req)
	case care360.USSDAnswer:
		return e.answer(ctx, req)
	}
	return care360.USSDReply{}, fmt.Errorf("menus: unknown request kind %d", req.Kind)
}

// begin opens a dialogue for a dial (replacing any open one under the key).
func (e *Engine) begin(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	c := &call{ctx: ctx, e: e, req: req, st: &state{Lang: care360.LangVi}}
	path, ok := e.parseDial(req.Text)
	if !ok {
		return e.end(c, text(c.lang(), "not.ours", e.cfg.ServiceCode))
	}
	if req.MSISDN == "" {
		return e.end(c, text(c.lang(), "not.subscriber"))
	}
	sub, err := c.subscriber()
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
	// A shortcut behaves exactly like typing its choices one by one, except
	// that it stops before anything that needs the subscriber to confirm.
	for i, in := range path {
		if it := e.screen[c.st.Screen].item(c, in); it != nil && it.confirms {
			break
		}
		out, err := e.apply(c, in)
		if err != nil {
			return e.fail(c, err)
		}
		if out != nil {
			return *out, nil
		}
		if c.st.Invalid > 0 || i == len(path)-1 {
			break
		}
	}
	return e.show(c)
}

// answer continues an open dialogue with what the subscriber typed.
func (e *Engine) answer(ctx context.Context, req care360.USSDRequest) (care360.USSDReply, error) {
	d, err := e.cfg.Dialogues.LoadDialogue(ctx, req.Key, e.cfg.IdleTimeout)
	if err != nil {
		return e.fail(&call{ctx: ctx, e: e, req: req, st: &state{}}, err)
	}
	c := &call{ctx: ctx, e: e, req: req, st: &state{}}
	if d == nil {
		return care360.USSDReply{Text: text(care360.LangVi, "session.ended", e.cfg.ServiceCode), End: true}, nil
	}
	if err := json.Unmarshal(d.State, c.st); err != nil {
		e.log.Error("menus: corrupt dialogue state; ending it", "err", err)
		return e.end(c, text(care360.LangVi, "session.ended", e.cfg.ServiceCode))
	}
	out, err := e.apply(c, strings.TrimSpace(req.Text))
	if err != nil {
		return e.fail(c, err)
	}
	if out != nil {
		return *out, nil
	}
	return e.show(c)
}

// parseDial splits "*090*3*2#" into ["3","2"]; ok is false for other codes.
func (e *Engine) parseDial(dialled string) (path []string, ok bool) {
	s := strings.TrimSpace(dialled)
	if s == e.cfg.ServiceCode {
		return nil, true
	}
	if !strings.HasPrefix(s, e.base+"*") || !strings.HasSuffix(s, "#") {
		return nil, false
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, e.base+"*"), "#"), "*")
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}

// apply handles one input on the current screen. It returns a reply when the
// input finished the dialogue; otherwise the state has moved and show renders
// where it now is.
func (e *Engine) apply(c *call, in string) (*care360.USSDReply, error) {
	sc := e.screen[c.st.Screen]
	pages := e.paginate(c, sc)
	switch {
	case in == "00":
		e.goTo(c, c.home(), false)
		return nil, nil
	case in == "99" && c.st.Page < len(pages)-1:
		c.st.Page++
		c.st.Invalid = 0
		return nil, nil
	case in == "0" && c.st.Page > 0:
		c.st.Page--
		c.st.Invalid = 0
		return nil, nil
	case in == "0" && len(c.st.Back) > 0:
		prev := c.st.Back[len(c.st.Back)-1]
		c.st.Back = c.st.Back[:len(c.st.Back)-1]
		e.goTo(c, prev, false)
		return nil, nil
	}
	if it := sc.item(c, in); it != nil {
		c.st.Invalid = 0
		if it.do != nil {
			msg, err := it.do(c)
			if err != nil {
				return nil, err
			}
			r, err := e.end(c, msg)
			return &r, err
		}
		e.goTo(c, it.to, true)
		if e.screen[it.to].info != nil {
			lines, err := e.screen[it.to].info(c)
			if err != nil {
				return nil, err
			}
			c.st.Lines = lines
		}
		return nil, nil
	}
	c.st.Invalid++
	if c.st.Invalid >= maxInvalid {
		r, err := e.end(c, text(c.lang(), "invalid.end"))
		return &r, err
	}
	return nil, nil
}

// home is the top screen: the main menu for members, registration otherwise.
func (c *call) home() string {
	if c.st.Member {
		return "main"
	}
	return "register"
}

// goTo moves to a screen; push keeps the current one for 0 (Back).
func (e *Engine) goTo(c *call, id string, push bool) {
	if push {
		c.st.Back = append(c.st.Back, c.st.Screen)
	}
	if id == c.home() {
		c.st.Back = nil
	}
	c.st.Screen, c.st.Page, c.st.Lines, c.st.Invalid = id, 0, nil, 0
}

// show renders the current page, saves the dialogue, and ends it when the
// last page of an info screen is shown.
func (e *Engine) show(c *call) (care360.USSDReply, error) {
	sc := e.screen[c.st.Screen]
	pages := e.paginate(c, sc)
	c.st.Page = min(c.st.Page, len(pages)-1)
	body := pages[c.st.Page]
	if sc.info != nil && c.st.Page == len(pages)-1 {
		return e.end(c, body)
	}
	if err := e.save(c); err != nil {
		return e.fail(c, err)
	}
	return care360.USSDReply{Text: body}, nil
}

// end finishes the dialogue with a final screen.
func (e *Engine) end(c *call, body string) (care360.USSDReply, error) {
	if c.req.Kind == care360.USSDAnswer || c.st.Screen != "" {
		if err := e.cfg.Dialogues.DeleteDialogue(c.ctx, c.req.Key); err != nil {
			e.log.Warn("menus: dialogue not deleted; it will idle out", "err", err)
		}
	}
	return care360.USSDReply{Text: body, End: true}, nil
}

// fail turns an error into the screen a subscriber may see: domain refusals
// say what was wrong, anything else is "service unavailable".
func (e *Engine) fail(c *call, err error) (care360.USSDReply, error) {
	if ctxErr := c.ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w (%v)", err, ctxErr)
	}
	e.log.Error("menus: step failed", "err", err, "screen", c.st.Screen)
	return care360.USSDReply{Text: text(c.lang(), "unavailable"), End: true}, nil
}

func (e *Engine) save(c *call) error {
	b, err := json.Marshal(c.st)
	if err != nil {
		return err
	}
	return e.cfg.Dialogues.SaveDialogue(c.ctx, &care360.Dialogue{Key: c.req.Key, MSISDN: c.req.MSISDN, State: b})
}
