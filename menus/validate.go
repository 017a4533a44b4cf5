package menus

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/care360/care360"
)

// Parsers for input screens. Each returns errInvalid for an answer the
// subscriber should be asked again for; the value it returns is what the
// dialogue keeps.

// parseMSISDN accepts a subscriber number in any of the three forms and keeps
// the canonical one.
func parseMSISDN(_ *call, answer string) (string, error) {
	m, err := care360.ParseMSISDN(answer)
	if err != nil {
		return "", errInvalid
	}
	return string(m), nil
}

// parsePositive accepts a whole positive number (points, nights), with or
// without thousands separators.
func parsePositive(_ *call, answer string) (string, error) {
	s := strings.NewReplacer(".", "", ",", "").Replace(answer)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > care360.MaxPointsChange || strings.HasPrefix(s, "0") {
		return "", errInvalid
	}
	return strconv.FormatInt(n, 10), nil
}

var flightRE = regexp.MustCompile(`^(\d{2})(\d{2})\s+(?i:VN)\s*(\d{1,4})$`)

// parseFlight accepts "ddmm VN123": the next such date (this year, or next
// year once it has passed), which must be tomorrow or later, and a Vietnam
// Airlines flight number. It keeps "YYYY-MM-DD VN123".
func parseFlight(c *call, answer string) (string, error) {
	m := flightRE.FindStringSubmatch(strings.TrimSpace(answer))
	if m == nil {
		return "", errInvalid
	}
	day, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	now := c.e.now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	date, ok := nextDate(today, day, month)
	if !ok || !date.After(today) {
		return "", errInvalid
	}
	return fmt.Sprintf("%s VN%s", date.Format(time.DateOnly), strings.TrimLeft(m[3], "0")), nil
}

// nextDate is the first day/month on or after today that exists (29 February
// waits for a leap year).
func nextDate(today time.Time, day, month int) (time.Time, bool) {
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	for y := today.Year(); y <= today.Year()+4; y++ {
		d := time.Date(y, time.Month(month), day, 0, 0, 0, 0, today.Location())
		if d.Day() != day || d.Before(today) {
			continue // 31 April rolls over; a passed date waits for next year
		}
		return d, true
	}
	return time.Time{}, false
}

// now is the engine's clock in the operator's zone.
func (e *Engine) now() time.Time {
	if e.cfg.Now != nil {
		return e.cfg.Now().In(e.cfg.Location)
	}
	return time.Now().In(e.cfg.Location)
}
