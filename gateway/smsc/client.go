package smsc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ControlClient talks to a simulator's ControlHandler, for a phone in
// another process. Errors wrap ErrTimeout (504), ErrEnded (404, 409) and
// ErrNoLink (503) so callers can tell them apart with errors.Is.
type ControlClient struct {
	BaseURL string       // e.g. "http://127.0.0.1:8081"
	HTTP    *http.Client // nil means http.DefaultClient
}

// Dial dials req.Code from req.MSISDN and returns the first screen.
func (c *ControlClient) Dial(ctx context.Context, req DialRequest) (CallState, error) {
	var st CallState
	err := c.do(ctx, http.MethodPost, "/v1/dial", req, &st)
	return st, err
}

// Reply answers the current screen of call and returns the next one.
func (c *ControlClient) Reply(ctx context.Context, call, text string) (CallState, error) {
	var st CallState
	err := c.do(ctx, http.MethodPost, "/v1/calls/"+url.PathEscape(call)+"/reply", replyRequest{Text: text}, &st)
	return st, err
}

// Abort hangs up call.
func (c *ControlClient) Abort(ctx context.Context, call string) (CallState, error) {
	var st CallState
	err := c.do(ctx, http.MethodPost, "/v1/calls/"+url.PathEscape(call)+"/abort", nil, &st)
	return st, err
}

// Messages returns the SMS submitted to msisdn.
func (c *ControlClient) Messages(ctx context.Context, msisdn string) ([]Message, error) {
	var out struct {
		Messages []Message `json:"messages"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/messages?msisdn="+url.QueryEscape(msisdn), nil, &out)
	return out.Messages, err
}

// WaitPush takes the oldest push to msisdn not yet taken, waiting up to
// wait for one (0: the server's default of 30s; at most 120s). A menu
// comes as an open call to Reply to or Abort; a notification ended, with
// Op 3. It wraps ErrTimeout when none came.
func (c *ControlClient) WaitPush(ctx context.Context, msisdn string, wait time.Duration) (CallState, error) {
	q := url.Values{"msisdn": {msisdn}}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	var st CallState
	err := c.do(ctx, http.MethodGet, "/v1/pushes/next?"+q.Encode(), nil, &st)
	return st, err
}

// SetPhone sets how msisdn treats pushes: "answers", "ignores", "busy" or
// "absent" (see PhoneBehaviour).
func (c *ControlClient) SetPhone(ctx context.Context, msisdn, behaviour string) error {
	return c.do(ctx, http.MethodPut, "/v1/phones/"+url.PathEscape(msisdn), phoneRequest{Behaviour: behaviour}, nil)
}

// Status returns the number of bound ESME links.
func (c *ControlClient) Status(ctx context.Context) (bound int, err error) {
	var out struct {
		Bound int `json:"bound"`
	}
	err = c.do(ctx, http.MethodGet, "/v1/status", nil, &out)
	return out.Bound, err
}

func (c *ControlClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("smsc control %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("smsc control %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return fmt.Errorf("smsc control %s %s: %w", method, path, statusErr(resp.StatusCode, e.Error))
	}
	if out == nil { // 204
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("smsc control %s %s: decode: %w", method, path, err)
	}
	return nil
}

// statusErr turns an HTTP error back into the simulator's sentinel errors.
func statusErr(code int, msg string) error {
	var sentinel error
	switch code {
	case http.StatusGatewayTimeout:
		sentinel = ErrTimeout
	case http.StatusNotFound, http.StatusConflict:
		sentinel = ErrEnded
	case http.StatusServiceUnavailable:
		sentinel = ErrNoLink
	case http.StatusBadGateway:
		sentinel = ErrRejected
	default:
		return errors.New(msg)
	}
	return fmt.Errorf("%w (%s)", sentinel, msg)
}
