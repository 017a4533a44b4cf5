package care360

import (
	"fmt"
	"time"
)

// ReviewCycle returns the review due at t: the first instant of t's month
// in loc. Tiers are reviewed on the 1st of each month.
func ReviewCycle(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
}

// DowngradeDue is when a downgrade found by the review of cycle happens if
// the points are still short: the grace (TierRules.GraceDays) later, at the
// same local time of day.
func (r TierRules) DowngradeDue(cycle time.Time, loc *time.Location) time.Time {
	l := cycle.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+r.GraceDays, l.Hour(), l.Minute(), l.Second(), 0, loc)
}

// TierChangeKind names a tier event.
type TierChangeKind string

// Tier events. Each one is recorded and told to the subscriber by SMS.
const (
	TierUpgraded   TierChangeKind = "upgrade"   // at once, when qualifying points earn a higher tier
	TierPending    TierChangeKind = "pending"   // the review found the points short: a warning with the date
	TierDowngraded TierChangeKind = "downgrade" // the grace ran out and the points are still short
	TierKept       TierChangeKind = "kept"      // the points recovered during the grace
)

// TierChange is one tier event of one subscriber. From and To are the tiers
// as the subscriber sees them (floors included).
type TierChange struct {
	ID         int64 // its record; the SMS's idempotency key derives from it
	MSISDN     MSISDN
	Kind       TierChangeKind
	From, To   Tier
	Qualifying int64     // qualifying points when it happened
	Due        time.Time // pending: when the downgrade happens
	Language   Language
}

// SMS is the transactional message that tells the subscriber. need is the
// qualifying total that keeps From (for a warning).
func (c TierChange) SMS(need int64, loc *time.Location) OutgoingSMS {
	from, to, lang := c.From.Name(c.Language), c.To.Name(c.Language), c.Language
	var text string
	switch c.Kind {
	case TierUpgraded:
		text = Localize(lang,
			fmt.Sprintf("Chúc mừng Quý khách đã lên hạng %s của chương trình Kết nối dài lâu MobiFone!", to),
			fmt.Sprintf("Congratulations! You are now a %s member of the MobiFone loyalty club.", to))
	case TierPending:
		day := c.Due.In(loc).Format("02/01/2006")
		text = Localize(lang,
			fmt.Sprintf("Hạng %s của Quý khách sẽ chuyển xuống %s từ ngày %s nếu chưa đạt %s điểm xét hạng (hiện có %s). Hãy tích thêm điểm để giữ hạng.",
				from, to, day, Number(need, lang), Number(c.Qualifying, lang)),
			fmt.Sprintf("Your %s tier drops to %s on %s unless you reach %s qualifying points (now %s).",
				from, to, day, Number(need, lang), Number(c.Qualifying, lang)))
	case TierDowngraded:
		text = Localize(lang,
			fmt.Sprintf("Hạng hội viên của Quý khách nay là %s. Cảm ơn Quý khách đã đồng hành cùng MobiFone.", to),
			fmt.Sprintf("Your membership tier is now %s. Thank you for staying with MobiFone.", to))
	case TierKept:
		text = Localize(lang,
			fmt.Sprintf("Quý khách đã đủ điểm và tiếp tục giữ hạng %s. Xin cảm ơn!", from),
			fmt.Sprintf("You have enough points and keep your %s tier. Thank you!", from))
	}
	return OutgoingSMS{MSISDN: c.MSISDN, Text: text, Kind: KindTransactional, IdempotencyKey: fmt.Sprintf("tier-change:%d", c.ID)}
}

// TierReview is what one run of the tier job did.
type TierReview struct {
	Cycle      Date // the review cycle (the 1st of a month)
	Reviewed   bool // this run did the cycle's review (false: done before)
	Pending    int  // downgrades found short of points, now waiting out their grace
	Kept       int  // pending downgrades cancelled: the points recovered
	Downgraded int  // downgrades applied
}
