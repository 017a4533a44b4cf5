package menus

import (
	"encoding/json"
	"fmt"

	"github.com/care360/care360"
)

// apply handles one answer on the current screen. It returns a reply when the
// answer finished the dialogue; otherwise the state has moved and show
// renders where it now is. Navigation (00 home, 99 more, 0 back) comes first
// on every screen, input screens included.
func (e *Engine) apply(c *call, in string) (*care360.USSDReply, error) {
	sc := e.screen[c.st.Screen]
	pages := e.paginate(c, sc)
	switch {
	case in == "00":
		return nil, e.enter(c, c.home(), false)
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
		return nil, e.enter(c, prev, false)
	}
	switch {
	case sc.Input != nil:
		v, err := sc.Input.Parse(c, in)
		if err == nil {
			c.remember(sc.ID, v)
			return nil, e.enter(c, sc.Next, true)
		}
		if care360.ErrorCode(err) != care360.EINVALID {
			return nil, err
		}
	case sc.Options != nil:
		if n, ok := number(in); ok && n <= len(c.st.Opts) {
			c.remember(sc.ID, c.st.Opts[n-1])
			return nil, e.enter(c, sc.Next, true)
		}
	case sc.Confirm != nil:
		if in == "1" {
			return e.act(c, sc.Confirm.Do)
		}
	default:
		if it := sc.item(in); it != nil {
			if it.Do != nil {
				return e.act(c, it.Do)
			}
			return nil, e.enter(c, it.To, true)
		}
	}
	e.metrics.invalid.WithLabelValues(c.st.Screen).Inc()
	c.st.Invalid++
	if c.st.Invalid >= maxInvalid {
		c.outcome = care360.OutcomeInvalid
		r, err := e.end(c, text(c.lang(), "invalid.end"))
		return &r, err
	}
	return nil, nil
}

// act runs an action; its text ends the dialogue, unless the action moved
// the dialogue to another screen (resume does).
func (e *Engine) act(c *call, do func(c *call) (string, error)) (*care360.USSDReply, error) {
	c.st.Invalid = 0
	at := c.st.Screen
	msg, err := do(c)
	if err != nil {
		return nil, err
	}
	if c.st.Screen != at {
		return nil, nil
	}
	r, err := e.end(c, msg)
	return &r, err
}

// remember keeps what the subscriber picked or typed on a screen.
func (c *call) remember(key, v string) {
	if c.st.Values == nil {
		c.st.Values = map[string]string{}
	}
	c.st.Values[key] = v
}

// enter moves to a screen (push keeps the current one for 0) and computes
// what the screen shows from the domain, once, so that paging through it and
// coming back to it cost no further reads.
func (e *Engine) enter(c *call, id string, push bool) error {
	if push {
		c.st.Back = append(c.st.Back, c.st.Screen)
	}
	if id == c.home() {
		c.st.Back = nil
	}
	c.st.Screen, c.st.Page, c.st.Lines, c.st.Opts, c.st.Invalid, c.st.Lead = id, 0, nil, nil, 0, ""
	if len(c.st.Path) < maxPath {
		c.st.Path = append(c.st.Path, id)
	}
	sc := e.screen[id]
	switch {
	case sc.Info != nil:
		lines, err := sc.Info(c)
		if err != nil {
			return err
		}
		c.st.Lines = lines
	case sc.Confirm != nil:
		lines, err := sc.Confirm.Prompt(c)
		if err != nil {
			return err
		}
		c.st.Lines = lines
	case sc.Options != nil:
		opts, err := sc.Options(c)
		if err != nil {
			return err
		}
		if sc.Title != "" {
			c.st.Lines = append(c.st.Lines, text(c.lang(), sc.Title))
		}
		for i, o := range opts {
			c.st.Lines = append(c.st.Lines, fmt.Sprintf("%d. %s", i+1, o.Label))
			c.st.Opts = append(c.st.Opts, o.Value)
		}
		if len(opts) == 0 {
			c.st.Lines = append(c.st.Lines, text(c.lang(), "list.empty"))
		}
	}
	return nil
}

// resume restores the dialogue offered on the resume screen.
func resume(c *call) (string, error) {
	saved := c.st.Saved
	if saved == nil || c.e.screen[saved.Screen] == nil {
		return "", c.e.enter(c, "main", false)
	}
	// Keep today's language: the subscriber may have changed it since.
	// The record goes on as this dialogue's (the dropped one has its own,
	// network_abort): its id, start, steps and path, then the saved screen.
	now := *c.st
	b, _ := json.Marshal(saved)
	*c.st = state{}
	if err := json.Unmarshal(b, c.st); err != nil {
		return "", err
	}
	c.st.Lang, c.st.Saved = now.Lang, nil
	c.st.Rec, c.st.Started, c.st.Code, c.st.Channel, c.st.Bind, c.st.Steps = now.Rec, now.Started, now.Code, now.Channel, now.Bind, now.Steps
	c.st.Path = append(now.Path, c.st.Screen)
	return "", nil
}
