package menus

import (
	"fmt"

	"github.com/care360/care360"
)

// msg names a text in the catalog.
type msg string

// The catalog holds Vietnamese with diacritics and English; plain "vi" is the
// diacritic-free fold of the Vietnamese, so the two can never drift apart.
var catalog = map[msg][2]string{ // [vi-unicode, en]
	"title":            {"MobiFone Care360", "MobiFone Care360"},
	"item.points":      {"Điểm & hạng hội viên", "Points & tier"},
	"item.gifts":       {"Quà tặng", "Gifts"},
	"item.draws":       {"Bốc thăm & Quay số", "Draws & spins"},
	"item.mconnect":    {"Ưu đãi mConnect", "mConnect offers"},
	"item.vip":         {"Đặc quyền VIP", "VIP privileges"},
	"item.resort":      {"Nghỉ dưỡng hè", "Summer resort"},
	"item.giftpoints":  {"Tặng điểm", "Gift points"},
	"item.language":    {"Ngôn ngữ/Language", "Ngon ngu/Language"},
	"nav.back":         {"Quay lại", "Back"},
	"nav.more":         {"Xem thêm", "More"},
	"invalid":          {"Không hợp lệ", "Invalid choice"},
	"invalid.end":      {"Lựa chọn không hợp lệ. Hẹn gặp lại quý khách!", "Invalid choice. Goodbye!"},
	"session.ended":    {"Phiên đã kết thúc. Vui lòng bấm lại %s.", "Your session has ended. Please dial %s again."},
	"not.ours":         {"Mã dịch vụ không đúng. Vui lòng bấm %s.", "Unknown service code. Please dial %s."},
	"not.subscriber":   {"Dịch vụ chỉ dành cho thuê bao MobiFone.", "This service is for MobiFone subscribers only."},
	"unavailable":      {"Dịch vụ tạm thời gián đoạn. Vui lòng thử lại sau.", "Service temporarily unavailable. Please try again later."},
	"suspended":        {"Tài khoản hội viên đang tạm khóa. Liên hệ 9090.", "Your membership is suspended. Call 9090."},
	"register.offer":   {"Chào mừng đến MobiFone Care360! Quý khách chưa là hội viên Kết nối dài lâu.", "Welcome to MobiFone Care360! You are not a member of the loyalty club yet."},
	"register.item":    {"Đăng ký (DK)", "Join (DK)"},
	"register.done":    {"Chúc mừng! Quý khách đã là hội viên Kết nối dài lâu hạng Đồng. Bấm %s để xem ưu đãi.", "Welcome to the club! You are now a Bronze member. Dial %s for your benefits."},
	"points.tier":      {"Hạng: %s", "Tier: %s"},
	"points.spendable": {"Điểm khả dụng: %s", "Spendable points: %s"},
	"points.qual":      {"Điểm xét hạng: %s", "Qualifying points: %s"},
	"points.expiry":    {"Sắp hết hạn: %s điểm ngày %s", "Expiring: %s points on %s"},
	"points.noexpiry":  {"Không có điểm sắp hết hạn", "No points expiring"},
	"points.next":      {"Cần %s điểm để lên %s", "%s points to reach %s"},
	"points.top":       {"Quý khách đang ở hạng cao nhất", "You hold the highest tier"},
	"lang.vi":          {"Tieng Viet", "Tieng Viet"},
	"lang.viu":         {"Tiếng Việt có dấu", "Tieng Viet co dau"},
	"lang.en":          {"English", "English"},
	"lang.done":        {"Đã chọn ngôn ngữ: %s.", "Language set: %s."},
	"rate.limited":     {"Quý khách đã bấm quá nhiều lần. Vui lòng thử lại sau ít phút.", "Too many attempts. Please try again in a few minutes."},
	"resume.title":     {"Quý khách muốn tiếp tục phiên trước?", "Continue where you left off?"},
	"resume.continue":  {"Tiếp tục", "Continue"},
	"resume.restart":   {"Bắt đầu lại", "Start over"},
	"confirm.yes":      {"Đồng ý", "Agree"},
	"list.empty":       {"Hiện chưa có mục nào.", "Nothing here yet."},
	"refused.hold":     {"Quý khách vừa đổi SIM: để bảo vệ tài khoản, giao dịch này tạm khóa đến %s. Xem điểm vẫn được.", "Your SIM was just swapped: to protect your points, this is on hold until %s. You can still check them."},
	"refused.points":   {"Quý khách không đủ điểm.", "You do not have enough points."},
	"refused.stock":    {"Rất tiếc, quà đã hết.", "Sorry, this is out of stock."},
	"refused.limit":    {"Quý khách đã dùng hết lượt cho mục này.", "You have reached the limit for this."},
	"refused.tier":     {"Ưu đãi không dành cho hạng hội viên của quý khách.", "This is not available for your tier."},
	"refused.window":   {"Ưu đãi hiện không trong thời gian áp dụng.", "This is not available at this time."},
	"refused.cancel":   {"Chương trình này đã hủy. Điểm tham gia (nếu có) đã được hoàn lại.", "This draw was cancelled. Any points paid to enter were refunded."},
	// Menus 2 and 4–7 (gifts.go, offers.go, vip.go, giftpoints.go).
	"refused.eligible": {"Quà này không dành cho quý khách.", "This gift is not for you."},
	"refused.member":   {"Số thuê bao này chưa là hội viên Kết nối dài lâu.", "That number is not a member of the club."},
	"refused.self":     {"Quý khách không thể tặng điểm cho chính mình.", "You cannot give points to yourself."},
	"refused.amount":   {"Số điểm tặng không hợp lệ.", "That number of points cannot be given."},
	"gift.free":        {"%s (miễn phí)", "%s (free)"},
	"gift.cost":        {"%s: %s điểm", "%s: %s points"},
	"gift.ask.free":    {"Nhận quà %s?", "Claim %s?"},
	"gift.ask.cost":    {"Đổi %s điểm lấy %s?", "Spend %s points on %s?"},
	"gift.done":        {"Quý khách đã nhận %s. Mã quà đã được gửi qua SMS.", "You got %s. The code is on its way by SMS."},
	"gift.pending":     {"Quý khách đã đổi %s. Quà sẽ được nạp vào thuê bao trong ít phút.", "You claimed %s. It will be added to your line within minutes."},
	"cat.am_thuc":      {"Ẩm thực", "Food"},
	"cat.giai_tri":     {"Giải trí", "Entertainment"},
	"cat.lam_dep":      {"Làm đẹp", "Beauty"},
	"cat.mua_sam":      {"Mua sắm", "Shopping"},
	"cat.du_lich":      {"Du lịch", "Travel"},
	"cat.suc_khoe":     {"Sức khỏe", "Health"},
	"cat.khach_san":    {"Khách sạn", "Hotels"},
	"offer.price":      {"%s: %s VND/đêm", "%s: %s VND/night"},
	"offer.ask.code":   {"Nhận mã ưu đãi %s qua SMS?", "Get the code for %s by SMS?"},
	"offer.done.code":  {"Ưu đãi %s: mã %s. Mã đã được gửi qua SMS.", "%s: code %s. It is on its way by SMS too."},
	"nights.prompt":    {"Nhập số đêm muốn đặt:", "How many nights?"},
	"book.ask":         {"Đặt %s đêm tại %s?", "Book %s nights at %s?"},
	"book.price":       {"Giá %s VND/phòng/đêm", "%s VND per room per night"},
	"offer.card":       {"%s VND khi trả bằng thẻ %s", "%s VND paying with %s"},
	"book.done":        {"Đã đặt %s đêm tại %s. Mã đặt phòng đã được gửi qua SMS.", "Booked %s nights at %s. The booking code is on its way by SMS."},
	"vip.priority":     {"Ưu tiên check-in", "Priority check-in"},
	"vip.lounge":       {"Phòng chờ thương gia", "Business lounge"},
	"vip.booking":      {"Ưu tiên đặt chỗ", "Priority booking"},
	"vip.baggage":      {"Thêm hành lý", "Extra baggage"},
	"vip.left":         {"%s (còn %d/%d lượt)", "%s (%d of %d left)"},
	"vip.flight":       {"Nhập ngày bay và số hiệu chuyến bay, ví dụ: 2811 VN123", "Enter the flight date and number, e.g. 2811 VN123"},
	"vip.ask":          {"E-code %s, chuyến %s ngày %s?", "E-code for %s, flight %s on %s?"},
	"vip.done":         {"E-code đã được gửi qua SMS. Còn %d lượt trong năm.", "The e-code is on its way by SMS. %d left this year."},
	"gp.to":            {"Nhập số thuê bao nhận điểm:", "Enter the recipient's number:"},
	"gp.points":        {"Nhập số điểm muốn tặng:", "How many points?"},
	"gp.ask":           {"Tặng %s điểm cho %s?", "Give %s points to %s?"},
	"gp.done":          {"Quý khách đã tặng %s điểm cho %s. Điểm khả dụng còn lại: %s.", "You gave %s points to %s. Spendable points left: %s."},

	// menu 3: draws and spins (draws.go)
	"draws.enter":      {"Bốc thăm", "Lucky draws"},
	"draws.spin":       {"Quay số may mắn", "Lucky spin"},
	"draws.results":    {"Kết quả", "Results"},
	"draws.open":       {"Bốc thăm đang mở:", "Open draws:"},
	"draws.entered":    {"%s (đã tham gia)", "%s (entered)"},
	"draws.ask":        {"Tham gia %s?", "Enter %s?"},
	"draws.ask.cost":   {"Phí %s điểm, %d vé", "Cost %s points, %d tickets"},
	"draws.ask.free":   {"Miễn phí, %d vé", "Free, %d tickets"},
	"draws.done":       {"Đã tham gia %s. Phiếu số %d, %d vé. Kết quả sau %s. Mã xác nhận đã gửi qua SMS.", "You entered %s. Entry no. %d, %d tickets. Results after %s. Your receipt is on its way by SMS."},
	"spins.open":       {"Vòng quay may mắn:", "Lucky spins:"},
	"spins.ask.cost":   {"Phí %s điểm, hôm nay còn %d lượt", "Cost %s points; spins left today: %d"},
	"spins.ask.free":   {"Lượt tặng (còn %d), hôm nay còn %d lượt", "Free spin (%d left); spins left today: %d"},
	"spins.ask.nocost": {"Miễn phí, hôm nay còn %d lượt", "Free; spins left today: %d"},
	"spins.won":        {"Chúc mừng! Quý khách quay trúng %s. Hướng dẫn nhận giải đã gửi qua SMS.", "Congratulations! You won %s. How to collect it is on its way by SMS."},
	"spins.out":        {"Vòng quay dừng ở một giải đã hết: lượt này không trúng thưởng.", "The wheel stopped on a prize that has run out: no prize this time."},
	"spins.lost":       {"Rất tiếc, lượt quay này chưa trúng thưởng. Chúc quý khách may mắn lần sau!", "No prize this time. Better luck next spin!"},
	"results.won":      {"%s: trúng %s", "%s: won %s"},
	"results.lost":     {"%s: không trúng thưởng", "%s: no prize"},
	"results.wait":     {"%s: phiếu số %d, kết quả sau %s", "%s: entry no. %d, results after %s"},
	"results.void":     {"%s: đã hủy, điểm đã hoàn lại", "%s: cancelled, points refunded"},
	"results.spin":     {"Quay số %s: %s", "Spin %s: %s"},
	"results.none":     {"Quý khách chưa tham gia bốc thăm hay quay số nào.", "You have not entered any draw or spin yet."},
}

// texts holds every catalog entry and tier name in the three languages,
// folded once at start-up: folding is Unicode normalisation, too dear to
// repeat on every screen of every step.
var texts = compile(catalog)

type localized [3]string // vi, vi-unicode, en

func compile(src map[msg][2]string) map[msg]localized {
	out := make(map[msg]localized, len(src))
	for k, e := range src {
		out[k] = localized{care360.Fold(e[0]), e[0], e[1]}
	}
	return out
}

func (l localized) in(lang care360.Language) string {
	switch lang {
	case care360.LangViUnicode:
		return l[1]
	case care360.LangEn:
		return l[2]
	}
	return l[0]
}

// text renders a catalog entry in a language. Arguments must already be in
// that language (numbers, tier names): they are not folded again.
func text(lang care360.Language, key msg, args ...any) string {
	e, ok := texts[key]
	if !ok {
		panic("menus: no message " + string(key))
	}
	s := e.in(lang)
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

func tierName(lang care360.Language, t care360.Tier) string {
	return t.Name(lang)
}
