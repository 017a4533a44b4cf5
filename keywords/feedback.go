package keywords

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/care360/care360"
)

// feedback is GY <text>: the text goes to customer care's inbox and the
// sender hears that it arrived. The acknowledgement is keyed by the item,
// not the MO, so the same MO delivered twice is one item and one SMS.
func (h *Handler) feedback(ctx context.Context, c *caller, body string) (string, error) {
	lang := c.lang()
	if h.cfg.Feedback == nil {
		return text(lang, "help", h.cfg.ShortCode, h.cfg.USSDCode), nil
	}
	// A text with no word in it ("GY ?") is someone asking how GY works.
	if strings.IndexFunc(body, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
		return text(lang, "gy.usage", h.cfg.ShortCode), nil
	}
	f, err := h.cfg.Feedback.RecordFeedback(ctx, c.msisdn, body, c.at)
	if err != nil {
		return "", err
	}
	_, _, err = h.cfg.Outbox.Send(ctx, care360.OutgoingSMS{
		MSISDN: c.msisdn, Text: text(lang, "gy.thanks"), Kind: care360.KindTransactional,
		IdempotencyKey: fmt.Sprintf("feedback:%d", f.ID),
	})
	return "", err
}
